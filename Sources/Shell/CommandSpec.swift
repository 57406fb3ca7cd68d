/// What values an option takes. The same declaration validates the value before a command runs, writes the
/// option's part of `help CMD`, and offers values to TAB completion.
enum OptionKind: Sendable {
    case int(ClosedRange<Int>)
    /// A non-negative 64-bit integer (seeds).
    case seed
    case number(ClosedRange<Double>)
    case bool
    case choice([String])
    case text
    case path

    var help: String {
        switch self {
        case let .int(r): return "integer \(r.lowerBound)…\(r.upperBound)"
        case .seed: return "integer ≥ 0"
        case let .number(r): return "number \(fmtNumber(r.lowerBound))…\(fmtNumber(r.upperBound))"
        case .bool: return "true|false"
        case let .choice(c): return c.joined(separator: "|")
        case .text: return "text"
        case .path: return "path"
        }
    }

    var completions: [String] {
        switch self {
        case .bool: return ["true", "false"]
        case let .choice(c): return c
        default: return []
        }
    }

    /// Nil when `value` fits, else the reason in gtr's words.
    func check(_ value: String) -> String? {
        switch self {
        case let .int(r):
            guard let n = Int(value), r.contains(n) else { return "expected an integer in \(r.lowerBound)…\(r.upperBound)" }
        case .seed:
            guard UInt64(value) != nil else { return "expected a non-negative integer" }
        case let .number(r):
            guard let d = Double(value), d.isFinite, r.contains(d) else { return "expected a number in \(fmtNumber(r.lowerBound))…\(fmtNumber(r.upperBound))" }
        case .bool:
            guard Bool(value) != nil else { return "expected true or false" }
        case let .choice(c):
            guard c.contains(value) else { return "expected one of \(c.joined(separator: ", "))" }
        case .text, .path:
            guard !value.isEmpty else { return "expected a value" }
        }
        return nil
    }
}

private func fmtNumber(_ d: Double) -> String { d == d.rounded() && abs(d) < 1e15 ? String(Int(d)) : String(d) }

/// One `key=value` option: its key, kind, default (for help) and a few words of help.
struct OptionSpec: Sendable {
    var key: String
    var kind: OptionKind
    var defaultValue: String?
    var help: String

    init(_ key: String, _ kind: OptionKind, default d: String? = nil, _ help: String = "") {
        self.key = key; self.kind = kind; defaultValue = d; self.help = help
    }
}

/// The positional words a command takes, in order.
struct PositionalSpec: Sendable {
    enum Arity: Sendable { case one, optional, many, text }
    var name: String
    var arity: Arity
    /// When set, the word must be one of these (subcommands, views); completion offers them.
    var choices: [String]?

    /// One required word.
    static func word(_ name: String, _ choices: [String]? = nil) -> PositionalSpec { PositionalSpec(name: name, arity: .one, choices: choices) }
    /// One word that may be left out.
    static func optional(_ name: String, _ choices: [String]? = nil) -> PositionalSpec { PositionalSpec(name: name, arity: .optional, choices: choices) }
    /// Any number of words (at least one when `required`).
    static func many(_ name: String) -> PositionalSpec { PositionalSpec(name: name, arity: .many, choices: nil) }
    /// Free text: every remaining word, options included, taken as written (echo, set, expect, sql).
    static func text(_ name: String) -> PositionalSpec { PositionalSpec(name: name, arity: .text, choices: nil) }

    var usage: String {
        switch arity {
        case .one: return choices.map { $0.count <= 4 ? $0.joined(separator: "|") : name } ?? name
        case .optional: return "[" + (choices.map { $0.count <= 4 ? $0.joined(separator: "|") : name } ?? name) + "]"
        case .many: return name + "..."
        case .text: return name + "..."
        }
    }
}

/// A shell command, declared once: name, group, summary, example, positional words, options and what it does.
/// Parsing and validation (`Arguments.parse`), `help CMD` and TAB completion all read this declaration, so
/// they cannot drift apart.
struct CommandSpec: Sendable {
    var name: String
    var aliases: [String] = []
    var group: String
    var summary: String
    var example: String
    var positionals: [PositionalSpec] = []
    var options: [OptionSpec] = []
    /// Options the environment validates itself (`env`, `reset`, `eval` pass them to the env's reset).
    var envOptions = false
    /// A hand-written usage line for commands whose words depend on a subcommand; otherwise generated.
    var usageOverride: String?
    /// Output that depends on time or on the database (not compared by replay).
    var volatile = false
    var run: @Sendable (Shell, Arguments) throws -> Void

    var usage: String {
        if let u = usageOverride { return u }
        var parts = [name] + positionals.map(\.usage)
        parts += options.map { o in
            let short: String
            switch o.kind {
            case .bool: short = "true|false"
            case let .choice(c) where c.joined(separator: "|").count <= 14: short = c.joined(separator: "|")
            default: short = o.key.uppercased()
            }
            return "[\(o.key)=\(short)]"
        }
        if envOptions { parts.append("[env options]") }
        return parts.joined(separator: " ")
    }

    var subcommands: [String] { positionals.first?.choices ?? [] }
    func option(_ key: String) -> OptionSpec? { options.first { $0.key == key } }

    /// The lines of `help CMD`.
    var helpLines: [String] {
        var l = ["usage: \(usage)", "  \(summary)"]
        if !aliases.isEmpty { l.append("  aliases: \(aliases.joined(separator: ", "))") }
        if !options.isEmpty {
            l.append("  options:")
            let w = options.map { $0.key.count }.max()! + 1
            for o in options {
                var line = "    " + (o.key + "=").padding(toLength: w + 1, withPad: " ", startingAt: 0) + o.kind.help
                if let d = o.defaultValue { line += " (default \(d))" }
                if !o.help.isEmpty { line += "  " + o.help }
                l.append(line)
            }
        }
        if envOptions { l.append("  and the environment's own options (env list shows them)") }
        l.append("example: \(example)")
        return l
    }
}

extension Shell {
    static let groups = ["shell", "environment", "agent", "corrector", "training", "log"]

    static var allCommands: [CommandSpec] { coreCommands + environmentCommands + [playCommand] + householdCommands + modelCommands + agentCommands + correctorCommands + [trainCommand, experimentCommand, plotCommand] + logCommands + [exportCommand] }

    /// Names TAB completion offers for the first word.
    public static var commandNames: [String] { allCommands.flatMap { [$0.name] + $0.aliases }.sorted() }

    static func spec(_ name: String) -> CommandSpec? { allCommands.first { $0.name == name || $0.aliases.contains(name) } }

    /// "key=value options: …" for a command, from its declaration (the `gtr sft`/`gen-household`/`conformance`
    /// subcommands' help).
    public static func optionSummary(_ name: String) -> String {
        guard let c = spec(name) else { return "" }
        return "key=value options: " + c.options.map { "\($0.key)=\($0.kind.help)" + ($0.defaultValue.map { " (\($0))" } ?? "") }.joined(separator: ", ")
    }

    public static func isVolatile(_ commandText: String) -> Bool {
        let first = commandText.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == ";" }).first.map(String.init) ?? ""
        return spec(first)?.volatile ?? false
    }
}
