import Environments
import Episodes
import Foundation
import SessionLog
import Support
import Training

extension Shell {
    static let environmentCommands: [CommandSpec] = [
        CommandSpec(name: "env", group: "environment", summary: "list environments, or open one and deal the first episode",
                    example: "env points24 seed=3 solvable_only=true",
                    positionals: [.optional("NAME", ["list"] + EnvironmentRegistry.names)],
                    options: [OptionSpec("seed", .seed, "deal this hand (without it the env's own stream continues)")],
                    envOptions: true, usageOverride: "env list | env NAME [seed=N] [env options]") { sh, a in
            guard let name = a.positional.first, name != "list" else {
                guard a.options.isEmpty else { throw CommandError("env list takes no options") }
                let w = EnvironmentRegistry.names.map(\.count).max()! + 2
                for e in EnvironmentRegistry.entries {
                    sh.out(e.name.padding(toLength: w, withPad: " ", startingAt: 0) + e.summary)
                    sh.out(String(repeating: " ", count: w) + "options: " + e.options.joined(separator: " "))
                }
                return
            }
            let e = try EnvironmentRegistry.make(name)
            try sh.startEpisode(env: e, seed: a.seed(), options: a.extraOptions)
        },
        CommandSpec(name: "reset", group: "environment", summary: "deal a new episode (same env; without seed the env's stream continues)",
                    example: "reset seed=7", options: [OptionSpec("seed", .seed, "deal this hand")], envOptions: true) { sh, a in
            guard let ep = sh.episode else { throw CommandError("no environment: use env NAME first") }
            var opts = ep.options.filter { $0.key != "cards" }
            for (k, v) in a.extraOptions { opts[k] = v }
            try sh.startEpisode(env: ep.env, seed: a.seed(), options: opts)
        },
        CommandSpec(name: "show", group: "environment", summary: "the table (cards and formula); or the GTR prompt, or the info dict",
                    example: "show prompt", positionals: [.optional("VIEW", ["prompt", "prompt_action", "info"])]) { sh, a in
            let ep = try sh.requireEpisode()
            let e = ep.env
            switch a.positional.first {
            case "prompt", "prompt_action":
                sh.out(sh.config.style.dim(e.observationMode == .text ? "(observation=text: the state in words; no frame)" : "(observation=image: the agent also sees the frame)"))
                sh.out(e.prompt(thoughts: a.positional.first == "prompt"))
            case "info": sh.out(e.info.serialized())
            default:
                sh.out(e.terminalView(ansi: sh.config.style.color))
                sh.out("episode \(ep.number) t=\(e.stepCount) return=\(fmt(ep.episodeReturn))" + (e.isDone ? " (done)" : ""))
            }
        },
        CommandSpec(name: "image", group: "environment", summary: "write the current 300×300 frame as PNG",
                    example: "image table.png", positionals: [.word("FILE.png")]) { sh, a in
            let e = try sh.requireEnv()
            let path = a.positional[0]
            let png = PNG.encode((e as? FrameRenderable)?.render() ?? e.observe().image)
            try sh.writeFile(Data(png), to: path)
            sh.out("wrote \(path) (\(png.count) bytes, 300x300 RGB)")
        },
        CommandSpec(name: "act", group: "environment",
                    summary: "play moves (text=: a model's raw output through GTR parsing; from-thought: the action scored after the edited thought)",
                    example: "act 10 * 2", positionals: [.many("TOKEN")],
                    options: [OptionSpec("text", .text, "a model's raw output")],
                    usageOverride: "act TOKEN... | act text=\"MODEL OUTPUT\" | act from-thought") { sh, a in
            let ep = try sh.requireEpisode()
            if a.positional == ["from-thought"] { try sh.actFromThought(); return }
            if let text = a.options["text"] {
                guard a.positional.isEmpty else { throw CommandError("give either tokens or text=, not both") }
                try sh.apply(.modelOutput(text), source: sh.humanSource)
                return
            }
            guard !a.positional.isEmpty else { throw CommandError("usage: act TOKEN... (legal: \(ep.env.legalActions.joined(separator: " ")))") }
            // A command game takes one command per act, its words joined ("go to fridge 1"); a card game takes
            // one token per word. Every token is checked before any is played.
            let moves = ep.env.actionsAreCommands ? [a.positional.joined(separator: " ")] : a.positional
            if !ep.env.actionsAreCommands, let bad = moves.first(where: { !ep.env.legalActions.contains($0) }) {
                throw EnvironmentError.unknownAction(bad, legal: ep.env.legalActions)
            }
            for m in moves {
                try Interrupt.check()
                try sh.apply(.action(m), source: sh.humanSource)
            }
        },
        CommandSpec(name: "actions", group: "environment", summary: "the legal actions (household: admissible commands) now",
                    example: "actions") { sh, _ in
            let e = try sh.requireEnv()
            sh.out(e.legalActions.joined(separator: e.actionsAreCommands ? ", " : " "))
        },
        CommandSpec(name: "solve", group: "environment",
                    summary: "every distinct solution of the hand, marking (*) those that complete the current formula",
                    example: "solve", options: [OptionSpec("all", .bool, default: "false", "list every solution")]) { sh, a in
            guard let r = try sh.requireEnv().solutionReport else { throw CommandError("\(sh.env!.name) has no formula to solve") }
            let hand = r.numbers.map(String.init).joined(separator: " ")
            if r.all.isEmpty { sh.out("no solution for \(hand): this hand is unsolvable"); return }
            let completing = r.completing
            sh.out("\(r.all.count) solution(s) for \(hand); \(completing.count) complete the formula \(r.formula.isEmpty ? "(empty)" : r.formulaText)")
            let showAll = a.bool("all") == true || r.all.count <= 20
            for s in (showAll ? r.all : completing.isEmpty ? Array(r.all.prefix(20)) : completing) {
                var line = " \(s.completes(r.formula) ? "*" : " ") \(s.text)"
                if let n = r.next(for: s) { line += sh.config.style.dim("   next: \(n.token)  via \(n.via)") }
                sh.out(line)
            }
            if !showAll && completing.count < r.all.count { sh.out("(\(r.all.count - completing.count) more; solve all=true lists every one)") }
        },
        CommandSpec(name: "undo", group: "environment", summary: "take back the last N moves of this episode (any source)",
                    example: "undo", positionals: [.optional("N")]) { sh, a in
            let ep = try sh.requireEpisode()
            let n: Int
            if let w = a.positional.first {
                guard let k = Int(w), k >= 1 else { throw CommandError("N=\(w.prefix(20)): expected a positive integer") }
                n = k
            } else { n = 1 }
            try ep.undo(n)
            sh.agent.turn = nil
            sh.out("undone \(n); " + ep.env.textObservation)
        },
    ]

    /// Writes a file the user named, with gtr's own one-line error.
    func writeFile(_ data: Data, to path: String) throws {
        let url = resolve(path)
        // A FIFO or device would block the shell (or swallow the file): only regular files are written.
        if isNonRegularFile(url) { throw CommandError("cannot write \(path): \(fileProblem(url, CocoaError(.fileWriteUnknown)))") }
        do { try data.write(to: url) } catch { throw CommandError("cannot write \(path): \(fileProblem(url, error))") }
    }
}
