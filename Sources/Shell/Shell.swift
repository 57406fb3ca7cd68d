import Agents
import Correctors
import Environments
import Episodes
import Foundation
import SessionLog
import Support
import Training

/// Where lines come from when a command needs more input (`play`): the REPL's editor or stdin.
public protocol LineSource: AnyObject {
    func readLine(prompt: String) -> String?
    /// A line pre-filled with `initial` for editing (sources without an editor ignore it).
    func readLine(prompt: String, initial: String?) -> String?
}

extension LineSource {
    public func readLine(prompt: String, initial: String?) -> String? { readLine(prompt: prompt) }
}

/// Configuration of one shell instance.
public struct ShellConfig {
    public var home: URL
    public var databasePath: String?
    public var style: Style
    /// True when a person types at a terminal (steps are logged with source=human, else script).
    public var interactive: Bool
    public var keepGoing = false
    /// Write output to stdout/stderr (off for replays and tests that only read captured output).
    public var echo = true
    /// Directory that relative paths are resolved against.
    public var workingDirectory: URL
    /// Disable the session log entirely (benchmarks, fuzzing).
    public var logging = true

    public init(home: URL, databasePath: String? = nil, style: Style, interactive: Bool, workingDirectory: URL? = nil) {
        self.home = home; self.databasePath = databasePath; self.style = style; self.interactive = interactive
        self.workingDirectory = workingDirectory ?? URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
    }

    /// `GTR_HOME`, else `~/.gtr`.
    public static func defaultHome() -> URL {
        if let h = ProcessInfo.processInfo.environment["GTR_HOME"], !h.isEmpty { return URL(fileURLWithPath: h) }
        return FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".gtr")
    }
}

/// The interpreter: variables, the current environment and episode, the session log and every command.
/// It has no terminal I/O of its own beyond printing, so tests drive it directly.
public final class Shell {
    public var config: ShellConfig
    public private(set) var log: SessionLog?
    public var variables: [String: String] = [:]
    public var lineSource: LineSource?
    public internal(set) var quitRequested = false
    /// Statement budget per top-level command (nil = unlimited); the fuzz test bounds work with it.
    public var statementBudget: Int?
    private var budgetLeft = 0
    /// Step records produced by this shell, kept in memory when `recordSteps` is on (replay compares them).
    public var recordSteps = false
    public internal(set) var recordedSteps: [(seq: Int, record: StepRecord)] = []
    /// Generations produced by this shell (with `recordSteps`): kind and comma-joined token ids.
    public internal(set) var recordedGenerations: [(seq: Int, kind: String, tokenIDs: String)] = []
    /// During a replay: the edited thoughts of the logged session by command seq (`thought edit` reads them
    /// instead of asking for input).
    public var replayEdits: [Int: String] = [:]
    /// During a replay: the lines typed inside each logged command (`play`'s moves), served in order by `readInput`.
    public var replayInputs: [Int: [String]]?
    /// The seq the next command takes (a replay numbers its commands as the logged session did).
    public var nextSeq: Int?
    /// Lines read so far inside the running command.
    var inputsRead = 0

    /// The episode being played (env, options, seed, return, steps, undo); nil before the first `env`.
    var episode: EpisodeSession?
    /// Episodes begun by this shell (the number of the current one).
    var episodeCount = 0
    /// Writes episodes to the session log (and to `recordedSteps` during replays).
    lazy var episodeSink = ShellEpisodeSink(shell: self)
    var env: Environment? { episode?.env }

    /// The loaded agent and its last turn.
    let agent = AgentSession()
    /// Correctors, their counters and the episode's target formula.
    let correctorSession = CorrectorSession()
    /// The PPO-GTR run of this shell (running beside the prompt, paused, or ended), if any.
    var training: TrainingRun?
    /// Load the default agent on first use (off in tests that check the no-model errors).
    public var autoLoadDefault = true

    // Per-command capture.
    public private(set) var seq = 0
    var captured = ""
    var sourceDepth = 0
    var currentPosition: SourcePosition?
    /// True while a progress bar is drawn in place and its line is not ended.
    var liveBarOpen = false
    /// Runnable equivalents of commands that read interactive input (`play`, `thought edit`) by command seq, for
    /// `save script`.
    var scriptEquivalents: [Int: [String]] = [:]
    public private(set) var lastStatus = "ok"

    let commands: [String: CommandSpec]
    public static let version = BuildInfo.version

    public init(config: ShellConfig, replayOf: Int64? = nil) {
        self.config = config
        var table: [String: CommandSpec] = [:]
        for c in Shell.allCommands { table[c.name] = c; for a in c.aliases { table[a] = c } }
        commands = table
        if config.logging {
            let path = config.databasePath ?? config.home.appendingPathComponent("gtr.sqlite").path
            let info = SessionInfo(gtrVersion: Shell.version, gitCommit: BuildInfo.gitCommit, host: ProcessInfo.processInfo.hostName,
                                   config: "{\"interactive\":\(config.interactive),\"color\":\(config.style.color)}", replayOf: replayOf)
            log = SessionLog(path: path, info: info, fallbackDirectories: [config.home.path, NSTemporaryDirectory()])
        }
    }

    /// Flushes and closes the session log (Ctrl-D, `quit`, end of script).
    public func close() {
        // A run still going stops at its next step boundary; its checkpoints let `train resume run=ID` continue it.
        if let r = training, r.isRunning {
            r.stop()
            try? r.checkpointIfNeeded()
            FileHandle.standardError.write(Data("note: training run \(r.id) stopped with the shell at update \(r.trainer.completedUpdates); train resume run=\(r.id) continues it from its last checkpoint\n".utf8))
        }
        endEpisodeIfOpen()
        log?.close()
    }

    public var databasePath: String { log?.path ?? config.databasePath ?? config.home.appendingPathComponent("gtr.sqlite").path }

    // MARK: output

    /// The size limits of the language: one word after expansion (so any variable), and the output a command
    /// captures for the log and for replay (beyond it the output is still shown, and the log says what was cut).
    public static let maxWordBytes = 1 << 20
    public static let maxCapturedBytes = 8 << 20
    var capturedFull = false

    func capture(_ s: String) {
        guard !capturedFull else { return }
        if captured.utf8.count + s.utf8.count > Shell.maxCapturedBytes {
            capturedFull = true
            captured += "[output beyond \(Shell.maxCapturedBytes >> 20) MiB is not kept in the log]\n"
        } else {
            captured += s
        }
    }

    /// Output commits the session log's finished episodes first: an episode a user has seen end is in the log.
    func out(_ s: String) {
        capture(s + "\n")
        if config.echo { log?.commitFinished(); FileHandle.standardOutput.write(Data((endLiveBar() + s + "\n").utf8)) }
    }

    /// A newline when a progress bar is drawn in place on the current line (output then starts on its own line).
    func endLiveBar() -> String {
        guard liveBarOpen else { return "" }
        liveBarOpen = false
        return "\n"
    }

    func warn(_ s: String) {
        capture("warning: " + s + "\n")
        if config.echo { log?.commitFinished(); FileHandle.standardError.write(Data((endLiveBar() + "warning: " + s + "\n").utf8)) }
    }

    func errorLine(_ s: String) {
        capture("error: " + s + "\n")
        if config.echo { log?.commitFinished(); FileHandle.standardError.write(Data((endLiveBar() + config.style.red("error: ") + s + "\n").utf8)) }
    }

    // MARK: prompt

    /// `gtr[points24 #3 t=2]>`: the env, the seed of the episode (or its number) and the step.
    public var prompt: String {
        var run = ""
        if let r = training, r.currentState == .running || r.currentState == .paused {
            let s = r.status()
            run = "{run \(r.id) \(s.state == .running ? "" : "paused ")\(min(s.update + 1, s.updates))/\(s.updates)}"
        }
        guard let env else { return "gtr\(run)> " }
        let id = episode?.seed.map { "#\($0)" } ?? "ep\(episodeCount)"
        return "gtr[\(env.name) \(id) t=\(env.stepCount)\(env.isDone ? " done" : "")]\(run)> "
    }

    // MARK: execution

    /// Runs one complete unit of input (one or more statements) as a logged top-level command.
    /// Returns false when it failed. Syntax errors are reported with their position.
    @discardableResult
    public func execute(_ text: String, file: String = "<input>", line: Int = 1) -> Bool {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.isEmpty || trimmed.hasPrefix("#") && !trimmed.contains("\n") { return true }
        seq = max(seq + 1, nextSeq ?? 0)
        nextSeq = nil
        captured = ""
        capturedFull = false
        inputsRead = 0
        let start = Date()
        // The command's row is queued first (status `running`), so a kill -9 inside it leaves the row and every
        // episode it finished (episodes commit as they end); a long command commits the row at once.
        log?.logCommand(seq: seq, text: trimmed, startedAt: start.timeIntervalSince1970, duration: 0, status: "running", output: "")
        if Shell.isLong(trimmed) { log?.flush() }
        budgetLeft = statementBudget ?? Int.max
        var ok = true
        do {
            let stmts = try Parser.parse(text, file: file, firstLine: line)
            try run(stmts)
        } catch let e as ShellSyntaxError {
            errorLine(ShellError.syntax(e).description); ok = false
        } catch let e as ShellError {
            errorLine(e.description); ok = false
        } catch {
            errorLine("\(error)"); ok = false
        }
        lastStatus = ok ? "ok" : "error"
        log?.logCommand(seq: seq, text: trimmed, startedAt: start.timeIntervalSince1970,
                        duration: Date().timeIntervalSince(start), status: lastStatus, output: captured)
        log?.flush()
        return ok
    }

    /// A line typed inside a command (a move in `play`, an edited thought): read from the terminal or pipe and
    /// logged, or during a replay served from the logged session's lines for this command (nil when they run out).
    func readInput(prompt: String, initial: String? = nil) -> String? {
        defer { inputsRead += 1 }
        if let replayInputs {
            let lines = replayInputs[seq] ?? []
            return inputsRead < lines.count ? lines[inputsRead] : nil
        }
        guard let src = lineSource, let line = src.readLine(prompt: prompt, initial: initial) else { return nil }
        log?.logInput(seq: seq, k: inputsRead, line: line)
        return line
    }

    /// Commands that can run for minutes (and blocks, which can repeat anything).
    static let longCommands: Set<String> = ["auto", "eval", "sft", "play", "train", "experiment", "run", "source", "repeat", "while", "sleep"]

    static func isLong(_ text: String) -> Bool {
        let first = text.prefix { !$0.isWhitespace && $0 != ";" }
        return longCommands.contains(String(first)) || text.contains("{")
    }

    /// Output captured for the last top-level command.
    public var lastOutput: String { captured }

    func run(_ stmts: [Statement]) throws {
        for s in stmts {
            try Interrupt.check()
            if quitRequested { return }
            budgetLeft -= 1
            if budgetLeft < 0 { throw ShellError.budgetExceeded }
            try run(s)
        }
    }

    func run(_ s: Statement) throws {
        switch s {
        case let .command(words, pos):
            currentPosition = pos
            let argv = try expand(words)
            guard let name = argv.first else { return }
            try dispatch(name, Array(argv.dropFirst()), words: words, at: pos)
        case let .repeatBlock(countWord, body, pos):
            let c = try expand([countWord])[0]
            guard let n = Int(c), n >= 0 else { throw ShellError.failed(pos, "repeat needs a non-negative integer count, got '\(c)'") }
            for _ in 0..<n {
                try Interrupt.check()
                budgetLeft -= 1
                if budgetLeft < 0 { throw ShellError.budgetExceeded }
                try run(body)
                if quitRequested { return }
            }
        case let .whileBlock(cond, body, pos):
            while try evaluate(cond, at: pos) {
                try Interrupt.check()
                budgetLeft -= 1
                if budgetLeft < 0 { throw ShellError.budgetExceeded }
                try run(body)
                if quitRequested { return }
            }
        case let .ifBlock(cond, then, other, pos):
            try run(try evaluate(cond, at: pos) ? then : other)
        }
    }

    func evaluate(_ words: [Word], at pos: SourcePosition) throws -> Bool {
        do { return try Condition.evaluate(try expand(words)) } catch let e as Condition.EvalError {
            throw ShellError.failed(pos, e.message)
        }
    }

    /// Expands variables in each word. Built-ins shadow nothing: a user variable of the same name wins.
    func expand(_ words: [Word]) throws -> [String] {
        try words.map { w in
            var s = ""
            for p in w.parts {
                switch p {
                case let .literal(t): s += t
                case let .variable(name):
                    guard let v = variables[name] ?? builtin(name) else {
                        throw ShellError.failed(w.position, "undefined variable $\(name)")
                    }
                    guard s.utf8.count + v.utf8.count <= Shell.maxWordBytes else {
                        throw ShellError.failed(w.position, "a word would exceed \(Shell.maxWordBytes >> 20) MiB after expanding $\(name) (the limit on words and variables)")
                    }
                    s += v
                }
            }
            return s
        }
    }

    /// Values of the built-in variables.
    func builtin(_ name: String) -> String? {
        switch name {
        case "reward": return fmt(episode?.last?.reward ?? 0)
        case "return": return fmt(episode?.episodeReturn ?? 0)
        case "done": return (env?.isDone ?? false) ? "true" : "false"
        case "step": return String(env?.stepCount ?? 0)
        case "episode": return String(episodeCount)
        case "seed": return episode?.seed.map(String.init) ?? ""
        case "env": return env?.name ?? ""
        case "action": return episode?.last?.action ?? ""
        case "invalid": return (episode?.last?.invalid ?? false) ? "true" : "false"
        case "status": return lastStatus
        case "session": return log.map { String($0.sessionID) } ?? ""
        case "formula": return env?.currentFormula
        case "success": return (episode?.succeeded ?? false) ? "true" : "false"
        case "solvable": return env?.solvable.map { $0 ? "true" : "false" }
        case "actions": return env?.legalActions.joined(separator: " ")
        default: return nil
        }
    }

    static let builtinNames = ["reward", "return", "done", "step", "episode", "seed", "env", "action", "invalid", "status",
                               "session", "formula", "success", "solvable", "actions"]

    func dispatch(_ name: String, _ args: [String], words: [Word], at pos: SourcePosition) throws {
        guard let spec = commands[name] else {
            let names = Shell.allCommands.flatMap { [$0.name] + $0.aliases }
            let best = names.map { ($0, editDistance($0, name)) }.min { $0.1 < $1.1 }
            var msg = "unknown command '\(name.prefix(60))'"
            if let best, best.1 <= max(2, name.count / 2) { msg += "; did you mean '\(best.0)'?" }
            throw ShellError.failed(pos, msg + " (try help)")
        }
        let parsed: Arguments
        do { parsed = try Arguments.parse(args, words: Array(words.dropFirst()), spec: spec) } catch let e as CommandError {
            throw ShellError.failed(pos, "\(spec.name): \(e.message)")
        }
        do {
            try spec.run(self, parsed)
        } catch let e as CommandError {
            throw ShellError.failed(pos, "\(spec.name): \(e.message)")
        } catch let e as EnvironmentError {
            throw ShellError.failed(pos, "\(spec.name): \(e.description)")
        } catch let e as AgentError {
            throw ShellError.failed(pos, "\(spec.name): \(e.description)")
        } catch let e as CorrectorError {
            throw ShellError.failed(pos, "\(spec.name): \(e.description)")
        } catch let e as EpisodeError {
            throw ShellError.failed(pos, "\(spec.name): \(e.description)")
        } catch let e as TrainerError {
            throw ShellError.failed(pos, "\(spec.name): \(e.description)")
        }
    }

    func requestQuit() { quitRequested = true }

    /// Resolves a user path against the working directory (and `~`).
    func resolve(_ path: String) -> URL {
        if path.hasPrefix("~/") { return FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(String(path.dropFirst(2))) }
        if path.hasPrefix("/") { return URL(fileURLWithPath: path) }
        return config.workingDirectory.appendingPathComponent(path)
    }

    /// Runs a script file statement by statement, as `gtr run` and `source` do. Returns the number of failed
    /// statements; stops at the first unless `keepGoing`.
    @discardableResult
    public func runScript(text: String, file: String, keepGoing: Bool, topLevel: Bool) throws -> Int {
        var failures = 0
        var input = InputUnits()
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        for raw in lines {
            guard let (unit, startLine) = input.add(String(raw)) else { continue }
            if topLevel {
                if !execute(unit, file: file, line: startLine) {
                    failures += 1
                    if !keepGoing { return failures }
                }
            } else {
                do {
                    try run(try Parser.parse(unit, file: file, firstLine: startLine))
                } catch let e as ShellSyntaxError {
                    throw ShellError.syntax(e)
                } catch let e as ShellError {
                    if case .interrupted = e { throw e }
                    if !keepGoing { throw e }
                    errorLine(e.description); failures += 1
                }
            }
            if quitRequested { break }
        }
        // An unfinished unit is reported at its opening brace; with keep-going, the lines after it run from the
        // next line that starts a new command.
        while !quitRequested, let (buffer, startLine, rest) = input.takeLeftover() {
            let msg: String
            do { _ = try Parser.parse(buffer, file: file, firstLine: startLine); msg = "incomplete input" } catch { msg = "\(error)" }
            if topLevel { errorLine("\(msg)") } else { throw ShellError.failed(nil, msg) }
            failures += 1
            guard keepGoing else { return failures }
            for (line, number) in rest {
                guard let (unit, s) = input.add(line, number: number) else { continue }
                if topLevel {
                    if !execute(unit, file: file, line: s) { failures += 1 }
                } else {
                    do { try run(try Parser.parse(unit, file: file, firstLine: s)) } catch let e as ShellSyntaxError {
                        errorLine(ShellError.syntax(e).description); failures += 1
                    } catch let e as ShellError {
                        if case .interrupted = e { throw e }
                        errorLine(e.description); failures += 1
                    }
                }
                if quitRequested { break }
            }
        }
        return failures
    }

    public enum Completeness { case complete, needMore }

    /// Whether `text` is a complete unit or needs more lines (open quote, open block).
    public static func completeness(_ text: String) -> Completeness {
        do { _ = try Parser.parse(text); return .complete } catch let e as ShellSyntaxError {
            return e.incomplete ? .needMore : .complete
        } catch { return .complete }
    }
}

/// Gathers input lines into complete units (a unit ends when quotes and blocks are closed), remembering the
/// line each unit starts on for error positions. Shared by the REPL and script runner.
///
/// Linear in the input: each line is lexed once on its own (a quote ends on its line, so lines lex alone; a line
/// continued by a backslash is lexed again with the next) to keep the depth of open blocks, and a unit is parsed
/// only when its blocks are balanced. At end of input an unfinished unit is reported at its opening brace, and
/// the lines after it are read again from the first that starts a new command (`takeLeftover`).
public struct InputUnits {
    private var lines: [(text: String, number: Int)] = []
    private var lineNo = 0
    private var depth = 0
    /// A line continued by a trailing backslash, joined with the next before lexing.
    private var continued: String?

    public init() {}

    /// Adds one line (numbered `number`, else the next number); returns the finished unit and its first line
    /// number, or nil when more lines are needed.
    public mutating func add(_ line: String, number: Int? = nil) -> (String, Int)? {
        lineNo = number ?? lineNo + 1
        lines.append((line, lineNo))
        let segment = continued.map { $0 + "\n" + line } ?? line
        continued = nil
        do {
            for t in try Lexer.tokenize(segment) {
                switch t {
                case .openBrace: depth += 1
                case .closeBrace: depth -= 1
                default: break
                }
            }
        } catch let e as ShellSyntaxError {
            if e.incomplete { continued = segment; return nil }
            return take()  // the unit ends at a syntax error, which running it reports
        } catch {
            return take()
        }
        if depth > 0 { return nil }
        // Balanced (or an unexpected '}'): parsed once; a header waiting for its '{' on the next line needs more.
        if depth == 0, case .needMore = Shell.completeness(lines.count == 1 ? line : buffer) { return nil }
        return take()
    }

    private var buffer: String { lines.map(\.text).joined(separator: "\n") }

    private mutating func take() -> (String, Int)? {
        defer { lines.removeAll(keepingCapacity: true); depth = 0; continued = nil }
        return (buffer, lines.first?.number ?? lineNo)
    }

    /// Drops a half-typed unit (Ctrl-C at a continuation prompt).
    public mutating func discard() { lines.removeAll(); depth = 0; continued = nil }
    public var isEmpty: Bool { lines.isEmpty }
    /// Text left unfinished at end of input.
    public var leftover: (String, Int)? {
        buffer.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty ? nil : (buffer, lines.first?.number ?? lineNo)
    }

    /// The unfinished unit at end of input, and the lines after its first one from the first that starts a new
    /// command (at column 1, not a `}`, a comment or blank): a piped script with one unclosed block loses only
    /// that block's lines. Feed `rest` back with `add(_:number:)`.
    public mutating func takeLeftover() -> (unit: String, start: Int, rest: [(String, Int)])? {
        guard let (unit, start) = leftover else { discard(); return nil }
        var rest = Array(lines.dropFirst())
        discard()
        if let k = rest.firstIndex(where: { l in
            guard let c = l.text.first, !c.isWhitespace else { return false }
            return c != "}" && c != "#"
        }) {
            rest = Array(rest[k...])
        } else {
            rest = []
        }
        return (unit, start, rest.map { ($0.text, $0.number) })
    }
}
