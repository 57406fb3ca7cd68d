import Agents
import Environments
import Episodes
import Foundation
import SessionLog
import Training

extension Shell {
    static let agentCommands: [CommandSpec] = [
        CommandSpec(name: "think", group: "agent",
                    summary: "the agent's output for the current state without stepping: thought, action, λ-weighted log-prob, value",
                    example: "think") { sh, _ in
            let turn = try sh.agentGenerate()
            sh.showTurn(turn)
        },
        CommandSpec(name: "step", group: "agent", summary: "the agent acts N times (default 1; stops at the episode's end)",
                    example: "step 3", positionals: [.optional("N")]) { sh, a in
            let n = try a.positional.first.map { w -> Int in
                guard let k = Int(w), (1...100_000).contains(k) else { throw CommandError("N=\(w.prefix(20)): expected an integer in 1…100000") }
                return k
            } ?? 1
            let ep = try sh.requireEpisode()
            for _ in 0..<n {
                try Interrupt.check()
                guard !ep.isDone else { break }
                let turn = try sh.agentGenerate()
                sh.out(sh.config.style.dim("agent: ") + sh.oneLine(turn.output.text, max: 200))
                try sh.apply(.modelOutput(turn.output.text), source: .agent)
            }
        },
        CommandSpec(name: "auto", group: "agent", summary: "the agent plays N whole episodes in the current env (progress bar and summary)",
                    example: "auto episodes=5 seed=0",
                    options: [OptionSpec("episodes", .int(1...100_000), default: "1"), OptionSpec("seed", .seed, "episode i is dealt with seed S+i")]) { sh, a in
            let first = try sh.requireEpisode()
            try sh.requireContext(try sh.requireModel(), AgentInput(image: first.env.frame, prompt: first.env.prompt(thoughts: true)))
            let n = a.int("episodes") ?? 1
            let base = a.seed()
            var stats = EpisodeStats()
            try sh.runJob("auto", total: n) { job in
                for i in 0..<n {
                    if job.isCancelled { job.emit(.message("interrupted after \(i) episode(s)")); break }
                    let opts = sh.episode?.options ?? first.options
                    try sh.startEpisode(env: sh.episode?.env ?? first.env, seed: base.map { $0 + UInt64(i) }, options: opts)
                    let ep = try sh.requireEpisode()
                    while !ep.isDone {
                        if job.isCancelled { break }
                        let turn = try sh.agentGenerate()
                        try sh.apply(.modelOutput(turn.output.text), source: .agent, quiet: true)
                    }
                    if ep.isDone { stats.record(return: ep.episodeReturn, length: ep.stepCount) }
                    job.emit(.progress(done: i + 1, total: n, detail: String(format: "success %.0f%%", stats.successRate * 100)))
                }
            }
            sh.out(String(format: "auto: %d episode(s), success %.1f%% (%d), mean return %.3f, %d moves",
                          stats.episodes, stats.successRate * 100, stats.successes, stats.meanReturn, stats.totalMoves))
        },
        CommandSpec(name: "thought", group: "agent",
                    summary: "the last thought, each token coloured by its probability with its entropy; edit or replace it",
                    example: "thought set \"{\\\"cards\\\": [1, 2, 3, 4], \\\"formula\\\": \\\"\\\", \\\"thoughts\\\": \\\"...\\\"\"",
                    positionals: [.optional("edit|set", ["edit", "set"]), .optional("TEXT")],
                    usageOverride: "thought | thought edit | thought set \"TEXT\"") { sh, a in
            try sh.thoughtCommand(a)
        },
        CommandSpec(name: "rescore", group: "agent",
                    summary: "log-prob of the edited thought, and the action distribution after it (what act from-thought plays)",
                    example: "rescore") { sh, _ in
            try sh.rescore()
        },
        CommandSpec(name: "eval", group: "agent", summary: "success, return, valid JSON, legal actions, card recognition, thought length and diversity",
                    example: "eval episodes=200 seed=0 greedy", positionals: [.optional("MODE", ["greedy", "sample"])],
                    options: [OptionSpec("episodes", .int(1...1_000_000), default: "100"), OptionSpec("seed", .seed, default: "0"),
                              OptionSpec("env", .choice(EnvironmentRegistry.names), "default: the current env, else points24"),
                              OptionSpec("batch", .int(1...256), default: "8", "environments generating together")],
                    envOptions: true) { sh, a in
            try sh.evaluateAgent(a)
        },
    ]

    // MARK: generation

    /// The sampling config for the next generation: generation k of the session uses seed `seed + k`.
    func nextGenerationConfig() -> GenerationConfig {
        var g = agent.generation
        g.seed = g.seed &+ agent.counter
        agent.counter += 1
        return g
    }

    /// A progress bar that redraws in place on a terminal and otherwise prints every 10 %. Output printed while a
    /// live bar is open starts on a new line. Bars are shown, never captured: the logged output of a command is the
    /// same in a terminal and in a pipe (replay compares it), and holds no timings.
    func progressBar(total: Int, label: String) -> ProgressBar {
        ProgressBar(total: total, label: label, live: config.echo && config.interactive) { [weak self] text, final in
            guard let self else { return }
            if text.hasPrefix("\r") {
                if self.config.echo { FileHandle.standardOutput.write(Data((text + (final ? "\n" : "")).utf8)) }
                self.liveBarOpen = !final
            } else if self.config.echo {
                FileHandle.standardOutput.write(Data((self.endLiveBar() + text + "\n").utf8))
            }
        }
    }

    /// Generates for the current state, logs it and makes it the current turn. Refuses, as every agent command
    /// does, when the model's context cannot hold the prompt and the answer.
    @discardableResult
    func agentGenerate() throws -> AgentTurn {
        let ep = try requireEpisode()
        let m = try requireModel()
        guard !ep.isDone else { throw EnvironmentError.episodeOver }
        let input = AgentInput(image: ep.env.frame, prompt: ep.env.prompt(thoughts: true))
        try requireContext(m, input)
        let g = nextGenerationConfig()
        let out = try m.kind == RemotePolicy.kind ? withWaitLine("\(m.name): waiting for the endpoint") { try m.generate([input], config: g) }
            : m.generate([input], config: g)
        guard let o = out.first else { throw CommandError("the model returned nothing") }
        let turn = AgentTurn(env: ep.env.clone(), episode: ep.number, t: ep.stepCount, input: input, output: o, generationID: agent.counter, editedThought: nil)
        agent.turn = turn
        logGeneration(kind: "generate", turn: turn, text: o.text, ids: o.tokenIDs, lps: o.tokenLogProbs,
                      thought: o.thoughtLogProb, action: o.actionLogProb, value: o.value)
        return turn
    }

    func logGeneration(kind: String, turn: AgentTurn, text: String, ids: [Int32], lps: [Float], thought: Float?, action: Float?, value: Float?) {
        logGeneration(kind: kind, episode: turn.episode, t: turn.t, env: turn.env.name, prompt: turn.input.prompt, text: text, ids: ids, lps: lps,
                      thought: thought, action: action, value: value)
    }

    func logGeneration(kind: String, episode: Int, t: Int, env: String, prompt: String, text: String, ids: [Int32], lps: [Float],
                       thought: Float?, action: Float?, value: Float?) {
        let g = agent.generation
        let cfg = "{\"temperature\":\(g.temperature),\"top_p\":\(g.topP),\"penalty\":\(g.repetitionPenalty),\"greedy\":\(g.greedy),\"seed\":\(g.seed),\"n\":\(agent.counter)}"
        if recordSteps { recordedGenerations.append((seq, kind, ids.map(String.init).joined(separator: ","))) }
        log?.logGeneration(GenerationRecord(episode: episode, t: t, kind: kind, model: agentModelName, env: env,
                                            prompt: prompt, text: text, tokenIDs: ids, logProbs: lps, thoughtLogProb: thought,
                                            actionLogProb: action, lambda: agent.lambda, value: value, config: cfg), commandSeq: seq)
    }

    func oneLine(_ s: String, max n: Int) -> String {
        let t = s.replacingOccurrences(of: "\n", with: "⏎")
        return t.count > n ? String(t.prefix(n)) + "…" : t
    }

    func showTurn(_ turn: AgentTurn) {
        let o = turn.output
        let e = turn.env
        let p = e.project(o.text)
        let parse = e.strictParse(o.text)
        out("output:   " + oneLine(o.text, max: 400) + (o.finished ? "" : config.style.yellow(" (cut at max_tokens)")))
        if let th = parse.json?["thoughts"]?.stringValue { out("thought:  " + th) }
        let act = p.action.map { "'\($0)' (legal)" } ?? config.style.red(p.keywords.isEmpty ? "no action keyword" : "ambiguous: \(p.keywords.joined(separator: ","))")
        out("action:   " + act + (parse.valid ? "" : config.style.yellow("  [not valid GTR JSON: \(parse.error ?? "?")]")))
        let l = agent.lambda
        if o.tokenLogProbs.contains(where: \.isNaN) {
            // a remote endpoint that returns no log-probs: the split is known, the probabilities are not
            out("log-prob: not returned by the endpoint (thought \(o.spans.actionCharOffset ?? o.text.count) characters, action the rest)")
            return
        }
        out(String(format: "log-prob: λ·thought + action = %.2f·(%.3f) + (%.3f) = %.3f", l, o.thoughtLogProb, o.actionLogProb, o.weightedLogProb(lambda: l)))
        let meanH = o.tokenEntropies.isEmpty ? 0 : o.tokenEntropies.reduce(0, +) / Float(o.tokenEntropies.count)
        let remote = agent.policy?.kind == RemotePolicy.kind
        out("value:    " + (remote ? "none (remote)" : String(format: "%.3f", o.value))
            + "   tokens: \(o.tokenIDs.count) (\(o.spans.actionTokenStart) thought, \(o.tokenIDs.count - o.spans.actionTokenStart) action), mean entropy "
            + (remote ? "not reported" : String(format: "%.3f nats", meanH)))
    }

    /// `thought`: coloured tokens (green p ≥ 0.9, yellow ≥ 0.5, red below) and a table with entropies.
    func showTokens(_ turn: AgentTurn) throws {
        let o = turn.output
        let m = try requireModel()
        var line = ""
        for (k, id) in o.tokenIDs.enumerated() {
            let p = exp(o.tokenLogProbs[k])
            let t = m.tokenText(id)
            if config.style.color {
                let code = p >= 0.9 ? "32" : (p >= 0.5 ? "33" : "31")
                line += "\u{1B}[\(code)m\(t)\u{1B}[0m"
            } else {
                line += p >= 0.9 ? t : "[\(t)|\(String(format: "%.2f", p))]"
            }
        }
        out(line)
        out("  #  part     p       H  token")
        for (k, id) in o.tokenIDs.enumerated() {
            let part = k < o.spans.actionTokenStart ? "thought" : "action "
            out(String(format: "%3d  %@  %.3f  %.3f  ", k, part, exp(o.tokenLogProbs[k]), o.tokenEntropies[k]) + m.tokenText(id).debugDescription)
        }
        out(config.style.dim("editable thought: ") + turn.editableThought)
        if let ed = turn.editedThought { out(config.style.dim("edited thought: ") + ed) }
    }

    func evaluateAgent(_ a: Arguments) throws {
        let m = try requireModel()
        let name = a.string("env") ?? env?.name ?? "points24"
        let n = a.int("episodes") ?? 100
        let seed = a.seed() ?? 0
        let batch = a.int("batch") ?? 8
        var g = agent.generation
        if let mode = a.positional.first { g.greedy = mode == "greedy" }
        var opts = a.extraOptions
        if let ep = episode, ep.env.name == name, a.options["env"] == nil { for (k, v) in ep.options where opts[k] == nil && k != "cards" { opts[k] = v } }
        opts = observationOptions(opts, for: m)
        // Options and the context are checked before the first episode.
        let probe = try EnvironmentRegistry.make(name)
        try probe.reset(seed: seed, options: opts)
        try requireContext(m, AgentInput(image: probe.frame, prompt: probe.prompt(thoughts: true)))
        let report = try runJob("eval", total: n) { job in
            try AgentEvaluation.run(m, env: name, options: opts, episodes: n, seed: seed, config: g, batch: batch, onStep: { st in
                self.logGeneration(kind: "generate", episode: st.episode, t: st.t, env: name, prompt: st.input.prompt, text: st.output.text,
                                   ids: st.output.tokenIDs, lps: st.output.tokenLogProbs, thought: st.output.thoughtLogProb,
                                   action: st.output.actionLogProb, value: st.output.value)
            }, progress: { job.emit(.progress(done: $0, total: n, detail: "")) }, shouldStop: { job.isCancelled })
        }
        if report.episodes < n { out("interrupted: partial results") }
        let optText = opts.sorted { $0.key < $1.key }.map { " \($0.key)=\($0.value)" }.joined()
        out("eval \(name)\(optText) seeds \(seed)…\(seed + UInt64(n) - 1) \(g.greedy ? "greedy" : "T=\(g.temperature)"):")
        for l in report.lines { out("  " + l) }
    }

    /// Env options with `observation=text` added for a model that reads no images (an explicit choice stays).
    func observationOptions(_ opts: [String: String], for m: Policy) -> [String: String] {
        var o = opts
        if o["observation"] == nil && !m.readsImages { o["observation"] = "text" }
        return o
    }

    /// The agent plays one seeded hand on its own env (for `play … vs-agent`); generations are logged.
    func agentPlays(env name: String, seed: UInt64, options: [String: String]) throws -> (Double, Int, String) {
        let m = try requireModel()
        let ep = try EpisodeSession(env: try EnvironmentRegistry.make(name), number: episodeCount, seed: seed, options: observationOptions(options, for: m))
        while !ep.isDone {
            let input = AgentInput(image: ep.env.frame, prompt: ep.env.prompt(thoughts: true))
            try requireContext(m, input)
            guard let o = try m.generate([input], config: nextGenerationConfig()).first else { break }
            logGeneration(kind: "generate", episode: ep.number, t: ep.stepCount, env: name, prompt: input.prompt, text: o.text, ids: o.tokenIDs,
                          lps: o.tokenLogProbs, thought: o.thoughtLogProb, action: o.actionLogProb, value: o.value)
            try ep.apply(.modelOutput(o.text), source: .agent)
        }
        return (ep.episodeReturn, ep.stepCount, ep.env.currentFormula ?? "")
    }
}

extension Shell {
    /// The one context check `think`, `step`, `auto`, `eval` and `play … vs-agent` share, before any episode is
    /// dealt or token drawn: the prompt and `max_tokens` answer tokens must fit the model's context.
    func requireContext(_ m: Policy, _ input: AgentInput) throws {
        try m.checkFits(input, maxNewTokens: agent.generation.maxNewTokens)
    }
}
