import Environments
import Foundation
import Support
import Tensors

extension Shell {
    static let coreCommands: [CommandSpec] = [
        CommandSpec(name: "help", group: "shell", summary: "list commands by group, or show one command's usage, options and example",
                    example: "help act", positionals: [.optional("COMMAND")]) { sh, a in
            if let name = a.positional.first {
                guard let c = Shell.spec(name) else {
                    let best = Shell.commandNames.min { editDistance($0, name) < editDistance($1, name) }
                    throw CommandError("no command '\(name.prefix(40))'" + (best.map { "; did you mean '\($0)'?" } ?? ""))
                }
                for l in c.helpLines { sh.out(l) }
                return
            }
            let width = Shell.allCommands.map(\.name.count).max()! + 2
            for g in Shell.groups {
                sh.out(sh.config.style.bold(g))
                for c in Shell.allCommands where c.group == g {
                    sh.out("  " + c.name.padding(toLength: width, withPad: " ", startingAt: 0) + c.summary)
                }
            }
            sh.out("Language: words, 'single' and \"double\" quotes (a quote ends on its line), # comments, ; between commands,")
            sh.out("  key=value options (key=\"quoted value\" too), set NAME VALUE and $NAME, repeat N { ... }, while COND { ... },")
            sh.out("  if COND { ... } else { ... }, expect COND [\"message\"].")
            sh.out("Built-in variables: " + Shell.builtinNames.map { "$" + $0 }.joined(separator: " "))
        },
        CommandSpec(name: "quit", aliases: ["exit"], group: "shell", summary: "leave the shell (the session log is flushed)",
                    example: "quit") { sh, _ in sh.requestQuit() },
        CommandSpec(name: "status", group: "shell",
                    summary: "version, commit, database, BLAS, the env, the loaded model, the corrector and the sampling settings",
                    example: "status", volatile: true) { sh, _ in
            for line in Shell.statusLines(database: sh.databasePath, session: sh.log?.sessionID, healthy: sh.log?.healthy ?? false) { sh.out(line) }
            if let ep = sh.episode {
                let e = ep.env
                sh.out("env:       \(e.name) episode \(ep.number)" + (ep.seed.map { " seed=\($0)" } ?? "") + " t=\(e.stepCount) invalid=\(e.invalidPolicy.rawValue)"
                       + (ep.optionsText.isEmpty ? "" : " " + ep.optionsText))
            } else {
                sh.out("env:       none (env NAME opens one)")
            }
            sh.out("model:     " + (sh.agent.policy.map { "\($0.name) from \(sh.agent.source)" } ?? "none loaded (think loads the default agent)"))
            let g = sh.agent.generation
            sh.out("sampling:  temperature=\(g.temperature) top_p=\(g.topP) penalty=\(g.repetitionPenalty) max_tokens=\(g.maxNewTokens) greedy=\(g.greedy) seed=\(g.seed) lambda=\(sh.agent.lambda)")
            let cs = sh.correctorSession
            sh.out("corrector: \(cs.active)  " + (cs.correctors[cs.active]?.identity ?? ""))
        },
        CommandSpec(name: "set", group: "shell", summary: "set a variable (read it back as $NAME)",
                    example: "set target 24", positionals: [.text("NAME VALUE")]) { sh, a in
            guard a.all.count >= 2 else { throw CommandError("usage: set NAME VALUE...") }
            let name = a.all[0]
            guard !name.isEmpty, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) else {
                throw CommandError("bad variable name '\(name.prefix(40))' (letters, digits, _)")
            }
            guard !Shell.builtinNames.contains(name) else { throw CommandError("$\(name) is built in and read-only") }
            let value = a.all.dropFirst().joined(separator: " ")
            guard value.utf8.count <= Shell.maxWordBytes else {
                throw CommandError("$\(name) would hold \(value.utf8.count) bytes; variables are limited to \(Shell.maxWordBytes >> 20) MiB")
            }
            sh.variables[name] = value
        },
        CommandSpec(name: "unset", group: "shell", summary: "remove a variable", example: "unset target", positionals: [.word("NAME")]) { sh, a in
            guard let n = a.positional.first else { throw CommandError("usage: unset NAME") }
            guard sh.variables.removeValue(forKey: n) != nil else { throw CommandError("no variable $\(n)") }
        },
        CommandSpec(name: "vars", group: "shell", summary: "show user and built-in variables (the session id is volatile)", example: "vars", volatile: true) { sh, _ in
            for k in sh.variables.keys.sorted() { sh.out("\(k) = \(sh.variables[k]!)") }
            for k in Shell.builtinNames { if let v = sh.builtin(k) { sh.out("$\(k) = \(v)") } }
        },
        CommandSpec(name: "echo", aliases: ["print"], group: "shell", summary: "print words (after variable expansion)",
                    example: "echo \"return: $return\"", positionals: [.text("WORDS")]) { sh, a in
            sh.out(a.all.joined(separator: " "))
        },
        CommandSpec(name: "expect", group: "shell", summary: "assert a condition; a failure stops a script (exit status 1)",
                    example: "expect $reward == 10 \"the formula should score\"", positionals: [.text("COND [\"message\"]")]) { sh, a in
            // The last word is the message when it is quoted and the words before it form the condition
            // (so `expect $x == "abc"` compares with "abc", and `expect $done "msg"` carries a message).
            var words = a.all
            var message: String?
            guard !words.isEmpty else { throw CommandError("usage: expect COND [\"message\"]") }
            var ok: Bool
            do { ok = try Condition.evaluate(words) } catch let e as Condition.EvalError {
                guard words.count >= 2, a.quoted.last == true else { throw CommandError(e.message) }
                message = words.removeLast()
                do { ok = try Condition.evaluate(words) } catch let e2 as Condition.EvalError { throw CommandError(e2.message) }
            }
            if !ok {
                throw ShellError.expectation(sh.currentPosition ?? SourcePosition(file: "?", line: 0, column: 0),
                                             (message.map { "\($0): " } ?? "") + words.joined(separator: " "))
            }
        },
        CommandSpec(name: "run", group: "shell",
                    summary: "run a script file with its own variables (env state is shared)", example: "run sessions/solve-by-hand.gtr",
                    positionals: [.word("FILE")], options: [OptionSpec("keep_going", .bool, default: "false", "go on after a failed statement")]) { sh, a in
            try sh.runFile(a, isolated: true)
        },
        CommandSpec(name: "source", group: "shell", summary: "run a script file in the current shell (variables shared)",
                    example: "source setup.gtr", positionals: [.word("FILE")]) { sh, a in
            try sh.runFile(a, isolated: false)
        },
        CommandSpec(name: "sleep", group: "shell", summary: "wait (Ctrl-C interrupts)", example: "sleep 0.5", positionals: [.word("SECONDS")]) { sh, a in
            guard let s = a.positional.first.flatMap(Double.init), s >= 0, s <= 86400 else { throw CommandError("usage: sleep SECONDS (0…86400)") }
            let end = Date().addingTimeInterval(s)
            while Date() < end {
                try Interrupt.check()
                usleep(20_000)
            }
        },
    ]

    func runFile(_ a: Arguments, isolated: Bool) throws {
        guard let path = a.positional.first else { throw CommandError("usage: \(isolated ? "run" : "source") FILE") }
        guard sourceDepth < 16 else { throw CommandError("scripts nested deeper than 16 (recursive source?)") }
        let url = resolve(path)
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw CommandError("cannot read \(path): \(fileProblem(url, error))")
        }
        let keep = a.bool("keep_going") ?? false
        let saved = variables
        sourceDepth += 1
        defer {
            sourceDepth -= 1
            if isolated { variables = saved }
        }
        let failures = try runScript(text: text, file: path, keepGoing: keep, topLevel: false)
        if failures > 0 { throw CommandError("\(failures) statement(s) failed in \(path)") }
    }

    /// The lines `status` and `gtr --version` print.
    public static func statusLines(database: String, session: Int64?, healthy: Bool) -> [String] {
        var lines = ["gtr \(Shell.version)"]
        lines.append("commit:    \(BuildInfo.gitCommit ?? "unknown")")
        lines.append("database:  \(database)" + (session.map { " (session \($0)\(healthy ? "" : ", not writable"))" } ?? ""))
        lines.append("blas:      OpenBLAS core \(BLASRuntime.coreName) (\(BLASRuntime.coreNote)); \(BLASRuntime.threads) tensor thread(s) (GTR_THREADS)\(BLASRuntime.compiledForAVX2 ? ", AVX2 build" : "")")
        return lines
    }
}
