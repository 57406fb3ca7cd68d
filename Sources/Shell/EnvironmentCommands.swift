import Environments
import Foundation
import SessionLog
import Support
import Training

extension Shell {
    static let environmentCommands: [CommandSpec] = [
        CommandSpec(name: "env", group: "environment", usage: "env list | env NAME [seed=N] [cards=...] [options]",
                    summary: "list environments, or open one and deal the first episode",
                    example: "env points24 seed=3 solvable_only=true", subcommands: ["list"] + EnvironmentRegistry.names,
                    acceptsAnyOption: true) { sh, a in
            guard let name = a.positional.first, name != "list" else {
                for e in EnvironmentRegistry.entries {
                    sh.out(e.name.padding(toLength: 11, withPad: " ", startingAt: 0) + e.summary)
                    sh.out("           options: " + e.options.joined(separator: " "))
                }
                return
            }
            let e = try EnvironmentRegistry.make(name)
            try sh.startEpisode(env: e, seed: a.seed(), options: a.options)
        },
        CommandSpec(name: "reset", group: "environment", usage: "reset [seed=N] [options]",
                    summary: "deal a new episode (same env; without seed the env's stream continues)", example: "reset seed=7",
                    acceptsAnyOption: true) { sh, a in
            guard let e = sh.env else { throw CommandError("no environment: use env NAME first") }
            var opts = sh.envOptions.filter { $0.key != "cards" && $0.key != "seed" }
            for (k, v) in a.options where k != "seed" { opts[k] = v }
            try sh.startEpisode(env: e, seed: a.seed(), options: opts)
        },
        CommandSpec(name: "show", group: "environment", usage: "show [prompt|prompt_action|info]",
                    summary: "the table (cards and formula); or the GTR prompt, or the info dict", example: "show prompt",
                    subcommands: ["prompt", "prompt_action", "info"]) { sh, a in
            let e = try sh.requireEnv()
            switch a.positional.first {
            case nil:
                sh.out(e.terminalView(ansi: sh.config.style.color))
                sh.out("episode \(sh.episode) t=\(e.stepCount) return=\(fmt(sh.episodeReturn))" + (e.isDone ? " (done)" : ""))
            case "prompt": sh.out(e.prompt(thoughts: true))
            case "prompt_action": sh.out(e.prompt(thoughts: false))
            case "info": sh.out(e.info.serialized())
            case let x?: throw CommandError("unknown view '\(x)' (prompt, prompt_action, info)")
            }
        },
        CommandSpec(name: "image", group: "environment", usage: "image FILE.png", summary: "write the current 300×300 frame as PNG",
                    example: "image table.png") { sh, a in
            let e = try sh.requireEnv()
            guard let path = a.positional.first else { throw CommandError("usage: image FILE.png") }
            let url = sh.resolve(path)
            let png = PNG.encode((e as? FrameRenderable)?.render() ?? e.observe().image)
            do { try Data(png).write(to: url) } catch { throw CommandError("cannot write \(path): \(error.localizedDescription)") }
            sh.out("wrote \(path) (\(png.count) bytes, 300x300 RGB)")
        },
        CommandSpec(name: "act", group: "environment", usage: "act TOKEN... | act text=\"MODEL OUTPUT\" | act from-thought",
                    summary: "play moves (a model's raw output goes through the RL4VLM parser; from-thought: the action the model writes after the edited thought)",
                    example: "act 10 * 2", options: ["text"], subcommands: ["from-thought"]) { sh, a in
            let e = try sh.requireEnv()
            if a.positional == ["from-thought"] { try sh.actFromThought(); return }
            if let text = a.options["text"] {
                guard a.positional.isEmpty else { throw CommandError("give either tokens or text=, not both") }
                let (r, p) = try e.step(modelOutput: text)
                sh.record(r, action: r.executedAction ?? "(invalid)", source: sh.config.interactive ? "human" : "script", parsed: p)
                return
            }
            guard !a.positional.isEmpty else { throw CommandError("usage: act TOKEN... (legal: \(e.legalActions.joined(separator: " ")))") }
            if e is Household {
                // One household command per act, words joined; a command that is not admissible is played as the
                // real engine plays it ("Nothing happens.", reward −1).
                guard !e.isDone else { throw EnvironmentError.episodeOver }
                let command = a.positional.joined(separator: " ")
                let snapshot = e.clone()
                let r = try e.step(command)
                sh.undoStack.append((snapshot, sh.episodeReturn, sh.lastReward))
                sh.record(r, action: command, source: sh.config.interactive ? "human" : "script", parsed: nil)
                return
            }
            for tok in a.positional {
                try Interrupt.check()
                guard e.legalActions.contains(tok) else { throw EnvironmentError.unknownAction(tok, legal: e.legalActions) }
                guard !e.isDone else { throw EnvironmentError.episodeOver }
                let snapshot = e.clone()
                let r = try e.step(tok)
                sh.undoStack.append((snapshot, sh.episodeReturn, sh.lastReward))
                sh.record(r, action: tok, source: sh.config.interactive ? "human" : "script", parsed: nil)
            }
        },
        CommandSpec(name: "actions", group: "environment", usage: "actions", summary: "the legal actions now", example: "actions") { sh, _ in
            sh.out(try sh.requireEnv().legalActions.joined(separator: " "))
        },
        CommandSpec(name: "solve", group: "environment", usage: "solve [all=true]",
                    summary: "every distinct solution of the hand, marking (*) those that complete the current formula",
                    example: "solve", options: ["all"]) { sh, a in
            guard let p = sh.env as? FormulaCardGame else { throw CommandError("solve works on points24 and ezpoints") }
            let solver = (p as? Points24)?.solver ?? Solver(target: 12, operators: ["+", "*"])
            let all = solver.solutions(p.numbers)
            let prefix = p.formula
            let completing = all.filter { $0.completes(prefix) }
            let f = prefix.isEmpty ? "(empty)" : p.formulaText
            if all.isEmpty { sh.out("no solution for \(p.numbers.map(String.init).joined(separator: " ")): this hand is unsolvable"); return }
            sh.out("\(all.count) solution(s) for \(p.numbers.map(String.init).joined(separator: " ")); \(completing.count) complete the formula \(f)")
            let showAll = a.options["all"] == "true" || all.count <= 20
            for s in (showAll ? all : completing.isEmpty ? Array(all.prefix(20)) : completing) {
                let mark = s.completes(prefix) ? "*" : " "
                var line = " \(mark) \(s.text)"
                if s.completes(prefix), let form = s.forms(startingWith: prefix).first, form.count > prefix.filter({ $0 != .blank }).count {
                    line += sh.config.style.dim("   next: \(form[prefix.filter { $0 != .blank }.count])  via \(form.map(\.description).joined())")
                }
                sh.out(line)
            }
            if !showAll && completing.count < all.count { sh.out("(\(all.count - completing.count) more; solve all=true lists every one)") }
        },
        CommandSpec(name: "undo", group: "environment", usage: "undo [N]", summary: "take back the last N moves of this episode",
                    example: "undo") { sh, a in
            _ = try sh.requireEnv()
            let n = a.positional.first.flatMap(Int.init) ?? 1
            guard n >= 1 else { throw CommandError("usage: undo [N]") }
            guard sh.undoStack.count >= n else { throw CommandError("only \(sh.undoStack.count) move(s) to undo in this episode") }
            for _ in 0..<n {
                let s = sh.undoStack.removeLast()
                sh.env = s.env; sh.episodeReturn = s.ret; sh.lastReward = s.reward
            }
            sh.out("undone \(n); " + sh.env!.textObservation)
        },
        CommandSpec(name: "play", group: "environment", usage: "play points24 [vs-agent] [hands=N] [seed=S] [solvable_only=true]",
                    summary: "play N seeded hands yourself with a running score; vs-agent: the agent plays the same hands, side by side",
                    example: "play points24 hands=3 seed=100", options: ["hands", "seed", "solvable_only", "ranks"]) { sh, a in
            try sh.play(a)
        },
    ]

    func requireEnv() throws -> Environment {
        guard let e = env else { throw CommandError("no environment: use env NAME (env list shows them)") }
        return e
    }

    func endEpisodeIfOpen() {
        guard let e = env, episode > 0 else { return }
        if !e.isDone, e.stepCount > 0 { log?.endEpisode(episode, return: episodeReturn, length: e.stepCount) }
    }

    func startEpisode(env e: Environment, seed: UInt64?, options: [String: String]) throws {
        var opts = options
        opts.removeValue(forKey: "seed")
        // Paths in options are relative to the shell's working directory.
        if let g = opts["game"], !g.hasPrefix("/") { opts["game"] = resolve(g).path }
        try e.reset(seed: seed, options: opts)
        endEpisodeIfOpen()
        if env !== e { env = e }
        envOptions = opts
        episode += 1
        correctorSession.target.reset()
        episodeReturn = 0; lastReward = 0; lastAction = ""; lastInvalid = false
        undoStack = []
        episodeSeed = seed
        let optText = opts.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        log?.beginEpisode(episode, env: e.name, seed: seed, options: optText)
        out("\(e.name) episode \(episode)" + (seed.map { " seed=\($0)" } ?? "") + ": " + e.textObservation)
    }

    /// Updates the episode, prints the step and logs it.
    func record(_ r: StepResult, action: String, source: String, parsed: ProjectedAction?) {
        guard let e = env else { return }
        lastReward = r.reward
        episodeReturn += r.reward
        lastAction = action
        lastInvalid = r.invalid
        var line = "t=\(e.stepCount) \(action) → reward \(fmt(r.reward))"
        if r.invalid { line += config.style.yellow(" (invalid output: \(e.invalidPolicy.rawValue))") }
        if let p = parsed { line += " [parsed: \(p.keywords.isEmpty ? "no action keyword" : p.keywords.joined(separator: ","))]" }
        out(line + " | " + e.textObservation)
        let rec = StepRecord(episode: episode, t: e.stepCount, env: e.name, observation: e.textObservation, action: action,
                             source: source, reward: r.reward, done: r.done, info: r.info.serialized())
        log?.logStep(rec, commandSeq: seq)
        if recordSteps { recordedSteps.append((seq, rec)) }
        if r.done {
            let verdict = episodeReturn > 0 ? config.style.green("success") : config.style.red("failure")
            out("episode \(episode) over (\(r.terminated ? "terminated" : "truncated")): return \(fmt(episodeReturn)) in \(e.stepCount) steps, \(verdict)")
            log?.endEpisode(episode, return: episodeReturn, length: e.stepCount)
        }
    }

    /// `play`: the human plays N seeded hands. Hand i is dealt with seed S+i, so an agent can later be scored on
    /// exactly the same hands (the `PlayMatch` hands list), side by side.
    func play(_ a: Arguments) throws {
        guard a.positional.first == "points24" || a.positional.first == nil else { throw CommandError("play supports points24") }
        let versus = a.positional.dropFirst().first == "vs-agent"
        guard a.positional.count <= (versus ? 2 : 1) else { throw CommandError("usage: play points24 [vs-agent] [hands=N] [seed=S]") }
        if versus { _ = try requireModel() }
        var agentStats = EpisodeStats()
        guard let input = lineSource else { throw CommandError("play needs an interactive input (in scripts, use env and act)") }
        let hands = try a.int("hands", default: 1, range: 1...10_000)
        let base = try a.seed() ?? UInt64(Date().timeIntervalSince1970) % 100_000
        var opts: [String: String] = [:]
        if let s = a.options["solvable_only"] { opts["solvable_only"] = s }
        if let r = a.options["ranks"] { opts["ranks"] = r }
        let match = PlayMatch(env: "points24", seeds: (0..<hands).map { base + UInt64($0) }, options: opts)
        var stats = EpisodeStats()
        out("playing \(hands) hand(s) of points24 from seed \(base); type tokens (e.g. 10 * 2), undo, solve, skip or quit")
        handLoop: for (i, s) in match.seeds.enumerated() {
            try startEpisode(env: Points24(), seed: s, options: match.options)
            out(env!.terminalView(ansi: config.style.color))
            while let e = env, !e.isDone {
                guard let line = input.readLine(prompt: "play[\(i + 1)/\(hands) t=\(e.stepCount)]> ") else { break handLoop }
                if Interrupt.pending { Interrupt.clear(); break handLoop }
                let words = line.split(separator: " ").map(String.init)
                guard let first = words.first else { continue }
                switch first {
                case "quit", "exit": break handLoop
                case "skip":
                    out("skipped hand \(i + 1)")
                    stats.record(return: episodeReturn, length: e.stepCount)
                    continue handLoop
                case "undo", "solve", "show", "actions":
                    _ = try? Shell.spec(first)!.run(self, Arguments(Array(words.dropFirst()), words: []))
                default:
                    do { try Shell.spec("act")!.run(self, Arguments(words, words: [])) } catch { errorLine("\(error)") }
                }
            }
            if let e = env, e.isDone { stats.record(return: episodeReturn, length: e.stepCount) }
            if versus {
                let (ret, moves, formula) = try agentPlays(seed: s, options: match.options)
                agentStats.record(return: ret, length: moves)
                let you = "you \(episodeReturn > 0 ? "✓" : "✗") \((env as? FormulaCardGame)?.formulaText ?? "")"
                out("hand \(i + 1): \(you) | agent \(ret > 0 ? "✓" : "✗") \(formula) (\(moves) moves)")
                out("score: you \(stats.successes)/\(stats.episodes) · agent \(agentStats.successes)/\(agentStats.episodes)")
            } else {
                out("score: \(stats.successes)/\(stats.episodes) solved, return \(fmt(stats.returns.reduce(0, +))), moves \(stats.totalMoves)")
            }
        }
        out("played \(stats.episodes) hand(s): \(stats.successes) solved (\(String(format: "%.0f", stats.successRate * 100))%), mean return \(fmt(stats.meanReturn))")
        if versus {
            out("agent on the same hands: \(agentStats.successes) solved (\(String(format: "%.0f", agentStats.successRate * 100))%), mean return \(fmt(agentStats.meanReturn))")
        }
    }
}

/// A fixed list of hands (env, seeds, options) that several players, human or agent, can be scored on.
public struct PlayMatch: Sendable {
    public let env: String
    public let seeds: [UInt64]
    public let options: [String: String]
}
