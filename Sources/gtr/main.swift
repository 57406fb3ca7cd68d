import ArgumentParser
import Foundation
import Shell
import Tensors

/// Options every entry point shares.
struct CommonOptions: ParsableArguments {
    @Option(name: .long, help: "Session database (default: $GTR_HOME/gtr.sqlite, GTR_HOME defaults to ~/.gtr).")
    var db: String?

    func config(interactive: Bool) -> ShellConfig {
        var style = Style.detect()
        if !interactive && isatty(STDOUT_FILENO) == 0 { style.color = false }
        return ShellConfig(home: ShellConfig.defaultHome(), databasePath: db, style: style, interactive: interactive)
    }
}

struct GTR: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gtr",
        abstract: "A shell for debugging thought collapse in RL-trained vision-language agents.",
        version: Shell.statusLines(database: ShellConfig.defaultHome().appendingPathComponent("gtr.sqlite").path, session: nil, healthy: true)
            .joined(separator: "\n"),
        subcommands: [Interactive.self, RunScript.self, ReplaySession.self, TrainSFT.self, GenHousehold.self, Conformance.self, Serve.self],
        defaultSubcommand: Interactive.self)
}

struct Interactive: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "repl", abstract: "The interactive shell (the default). With stdin not a terminal, reads commands line by line, no prompt.")
    @OptionGroup var common: CommonOptions

    func run() throws {
        let interactive = isatty(STDIN_FILENO) == 1
        let config = common.config(interactive: interactive)
        let shell = Shell(config: config)
        let source: LineSource
        if interactive {
            try? FileManager.default.createDirectory(at: config.home, withIntermediateDirectories: true)
            Interrupt.install()
            source = EditLineSource(historyPath: config.home.appendingPathComponent("history").path, shell: shell)
            print("gtr \(Shell.version) · session \(shell.log?.sessionID ?? 0) · help lists commands, Ctrl-D leaves")
        } else {
            source = StdinSource()
        }
        let status = REPL.run(shell: shell, source: source, interactive: interactive)
        if status != 0 { throw ExitCode(status) }
    }
}

/// `gtr serve key=value...`: runs the environment server, a product of its own (`gtr-serve`, next to this binary) so
/// that building the shell never builds SwiftNIO.
struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "Serve gtr's environments over OpenEnv's protocol (gtr serve help lists the options).")
    @Argument(parsing: .captureForPassthrough, help: "host= port= token_env= max_sessions= idle_timeout= log= ...") var args: [String] = []

    func run() throws {
        let me = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        let server = me.deletingLastPathComponent().appendingPathComponent("gtr-serve").path
        guard FileManager.default.isExecutableFile(atPath: server) else {
            FileHandle.standardError.write(Data("gtr serve: the server is not built (\(server) is missing): make serve builds it\n".utf8))
            throw ExitCode(2)
        }
        let argv = [server] + args
        var cargs = argv.map { strdup($0) } + [nil]
        execv(server, &cargs)
        FileHandle.standardError.write(Data("gtr serve: cannot start \(server): \(String(cString: strerror(errno)))\n".utf8))
        throw ExitCode(1)
    }
}

struct RunScript: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Run a .gtr script without a terminal; exit 0 only if every command and expect succeeded.")
    @Argument(help: "The script file.") var file: String
    @Flag(name: .long, help: "Continue after a failing command (the exit status still reports the failure).") var keepGoing = false
    @OptionGroup var common: CommonOptions

    func run() throws {
        let text: String
        do { text = try String(contentsOfFile: file, encoding: .utf8) } catch {
            FileHandle.standardError.write(Data("error: cannot read \(file): \(FileManager.default.fileExists(atPath: file) ? "not UTF-8 text" : "no such file")\n".utf8))
            throw ExitCode(2)
        }
        Interrupt.install()
        let shell = Shell(config: common.config(interactive: false))
        let failures = (try? shell.runScript(text: text, file: file, keepGoing: keepGoing, topLevel: true)) ?? 1
        shell.close()
        if failures > 0 { throw ExitCode(1) }
    }
}

struct ReplaySession: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay", abstract: "Re-run a logged session in a new session and report the first divergence (exit 1) or that they are identical.")
    @Argument(help: "The session id (see the sessions command).") var session: Int64
    @OptionGroup var common: CommonOptions

    func run() throws {
        let config = common.config(interactive: false)
        let db = config.databasePath ?? config.home.appendingPathComponent("gtr.sqlite").path
        do {
            let report = try Replay.run(session: session, database: db, config: config)
            report.lines.forEach { print($0) }
            if !report.identical { throw ExitCode(1) }
        } catch let e as ExitCode { throw e } catch {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode(2)
        }
    }
}

struct TrainSFT: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sft",
        abstract: "Train the tiny VLM on expert steps (the shell's sft command): progress, loss curve, held-out metrics, checkpoint.",
        discussion: "Options as in the shell, e.g. gtr sft env=points24 steps=8000 epochs=4 seed=1 out=my-agent (out=default replaces the cached default agent).")
    @Argument(help: ArgumentHelp(Shell.optionSummary("sft"))) var options: [String] = []
    @OptionGroup var common: CommonOptions

    func run() throws { try runShellCommand("sft", options, common) }
}

/// Runs one shell command with key=value arguments (the `sft`, `gen-household` and `conformance` subcommands).
func runShellCommand(_ name: String, _ options: [String], _ common: CommonOptions) throws {
    Interrupt.install()
    let shell = Shell(config: common.config(interactive: isatty(STDOUT_FILENO) == 1))
    let ok = shell.execute(([name] + options).joined(separator: " "))
    shell.close()
    if !ok { throw ExitCode(1) }
}

struct GenHousehold: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gen-household",
        abstract: "Write generated household games in ALFWorld's format (game.tw-pddl + traj_data.json).",
        discussion: "e.g. gtr gen-household out=games task=all games=2 seed=0 (needs alfworld's domain and grammar: make alfworld).")
    @Argument(help: ArgumentHelp(Shell.optionSummary("gen-household"))) var options: [String] = []
    @OptionGroup var common: CommonOptions
    func run() throws { try runShellCommand("gen-household", options, common) }
}

struct Conformance: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "conformance",
        abstract: "Compare gtr's household engine with the real ALFWorld engine step by step.",
        discussion: "e.g. gtr conformance games=2, or gtr conformance dir=$ALFWORLD_DATA/json_2.1.1/train games=50.")
    @Argument(help: ArgumentHelp(Shell.optionSummary("conformance"))) var options: [String] = []
    @OptionGroup var common: CommonOptions
    func run() throws { try runShellCommand("conformance", options, common) }
}

if let problem = BLASRuntime.vectorUnitProblem { FileHandle.standardError.write(Data((problem + "\n").utf8)); exit(1) }
BLASRuntime.ensureOptimalCore()
// GTR_PROFILE_OPS=1: every tensor op is timed, and the table goes to stderr when gtr exits.
if OpProfile.enabled { atexit { FileHandle.standardError.write(Data(("\ntensor ops (GTR_PROFILE_OPS=1):\n" + OpProfile.table(steps: 1)).utf8)) } }
GTR.main()
