/// A shell command: its name, group, usage line, one-line summary, an example, the options it accepts and
/// what it does. `help` and TAB completion read these.
struct CommandSpec: Sendable {
    var name: String
    var aliases: [String] = []
    var group: String
    var usage: String
    var summary: String
    var example: String
    var options: [String] = []
    var subcommands: [String] = []
    var acceptsAnyOption = false
    /// Output that depends on time or on the database (not compared by replay).
    var volatile = false
    var run: @Sendable (Shell, Arguments) throws -> Void
}

extension Shell {
    static let groups = ["shell", "environment", "agent", "corrector", "log"]

    static var allCommands: [CommandSpec] { coreCommands + environmentCommands + householdCommands + modelCommands + agentCommands + correctorCommands + logCommands }

    /// Names TAB completion offers for the first word.
    public static var commandNames: [String] { allCommands.flatMap { [$0.name] + $0.aliases }.sorted() }

    static func spec(_ name: String) -> CommandSpec? { allCommands.first { $0.name == name || $0.aliases.contains(name) } }

    public static func isVolatile(_ commandText: String) -> Bool {
        let first = commandText.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == ";" }).first.map(String.init) ?? ""
        return spec(first)?.volatile ?? false
    }
}
