import Agents
import Environments
import Foundation
import SessionLog
import Tensors
import Training

extension Shell {
    static let agentCommands: [CommandSpec] = [
        CommandSpec(name: "think", group: "agent", usage: "think",
                    summary: "the agent's output for the current state without stepping: thought, action, λ-weighted log-prob, value",
                    example: "think") { sh, _ in
            let turn = try sh.agentGenerate()
            sh.showTurn(turn)
        },
        CommandSpec(name: "step", group: "agent", usage: "step [N]", summary: "the agent acts N times (default 1; stops at the episode's end)",
                    example: "step 3") { sh, a in
            let n = a.positional.first.flatMap(Int.init) ?? 1
            guard n >= 1, n <= 100_000 else { throw CommandError("usage: step [N] with N ≥ 1") }
            for _ in 0..<n {
                try Interrupt.check()
                guard let e = sh.env, !e.isDone else {
                    if sh.env == nil { throw CommandError("no environment: use env NAME first") }
                    break
                }
                let turn = try sh.agentGenerate()
                sh.out(sh.config.style.dim("agent: ") + sh.oneLine(turn.output.text, max: 200))
                try sh.agentExecute(turn.output.text)
            }
        },
        CommandSpec(name: "auto", group: "agent", usage: "auto episodes=N [seed=S]",
                    summary: "the agent plays N whole episodes in the current env (progress bar and summary)",
                    example: "auto episodes=5 seed=0", options: ["episodes", "seed"]) { sh, a in
            let e = try sh.requireEnv()
            _ = try sh.requireModel()
            let n = try a.int("episodes", default: 1, range: 1...100_000)
            let base = try a.seed()
            var stats = EpisodeStats()
            var bar = sh.progressBar(total: n, label: "auto")
            for i in 0..<n {
                try Interrupt.check()
                let opts = sh.envOptions
                try sh.startEpisode(env: e, seed: base.map { $0 + UInt64(i) }, options: opts)
                while !e.isDone {
                    try Interrupt.check()
                    let turn = try sh.agentGenerate()
                    try sh.agentExecute(turn.output.text, quiet: true)
                }
                stats.record(return: sh.episodeReturn, length: e.stepCount)
                bar.update(i + 1, String(format: "success %.0f%%", stats.successRate * 100))
            }
            sh.out(String(format: "auto: %d episode(s), success %.1f%% (%d), mean return %.3f, %d moves",
                          stats.episodes, stats.successRate * 100, stats.successes, stats.meanReturn, stats.totalMoves))
        },
        CommandSpec(name: "thought", group: "agent", usage: "thought | thought edit | thought set \"TEXT\"",
                    summary: "the last thought, each token coloured by its probability with its entropy; edit or replace it",
                    example: "thought set \"{\\\"cards\\\": [1, 2, 3, 4], \\\"thoughts\\\": \\\"...\\\", \"",
                    subcommands: ["edit", "set"]) { sh, a in
            guard var turn = sh.agent.turn else { throw CommandError("no thought yet: think or step first") }
            switch a.positional.first {
            case nil: sh.showTokens(turn)
            case "set":
                guard a.positional.count == 2 else { throw CommandError("usage: thought set \"TEXT\" (quote the whole thought)") }
                turn.editedThought = a.positional[1]
                sh.agent.turn = turn
                try sh.logEdit(turn)
            case "edit":
                let old = turn.editedThought ?? turn.thoughtText
                let new: String
                if let logged = sh.replayEdits[sh.seq] {
                    new = logged.hasSuffix(turn.actionText) ? String(logged.dropLast(turn.actionText.count)) : logged
                } else if let editor = ProcessInfo.processInfo.environment["EDITOR"], !editor.isEmpty, sh.config.interactive {
                    new = try sh.editInEditor(old, editor: editor)
                } else {
                    guard let src = sh.lineSource else { throw CommandError("thought edit needs input (in scripts use thought set \"...\")") }
                    guard let line = src.readLine(prompt: "thought> ", initial: old) else { throw CommandError("edit cancelled") }
                    new = line
                }
                guard !new.isEmpty else { throw CommandError("empty thought: nothing changed") }
                turn.editedThought = new
                sh.agent.turn = turn
                try sh.logEdit(turn)
            case let x?: throw CommandError("unknown subcommand '\(x)' (edit, set)")
            }
        },
        CommandSpec(name: "rescore", group: "agent", usage: "rescore",
                    summary: "log-prob of the edited thought, and how the action distribution changes after it", example: "rescore") { sh, _ in
            try sh.rescore()
        },
        CommandSpec(name: "eval", group: "agent", usage: "eval episodes=N seed=S [greedy] [env=NAME] [batch=B] [env options]",
                    summary: "success, return, valid JSON, legal actions, card recognition, thought length and diversity",
                    example: "eval episodes=200 seed=0 greedy", options: ["episodes", "seed", "env", "batch"], acceptsAnyOption: true,
                    volatile: false) { sh, a in
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

    /// A progress bar that redraws in place on a terminal and otherwise prints (and logs) every 10 %.
    func progressBar(total: Int, label: String) -> ProgressBar {
        ProgressBar(total: total, label: label, live: config.echo && config.interactive) { [weak self] text, final in
            guard let self else { return }
            if text.hasPrefix("\r") {
                if self.config.echo { FileHandle.standardOutput.write(Data((text + (final ? "\n" : "")).utf8)) }
                if final { self.captured += text.dropFirst(4) + "\n" }
            } else {
                self.out(text)
            }
        }
    }

    /// Generates for the current state, logs it and makes it the current turn.
    @discardableResult
    func agentGenerate() throws -> AgentTurn {
        let e = try requireEnv()
        let m = try requireModel()
        guard !e.isDone else { throw EnvironmentError.episodeOver }
        let input = AgentInput.from(e)
        let g = nextGenerationConfig()
        guard let o = try m.generate([input], config: g).first else { throw CommandError("the model returned nothing") }
        let turn = AgentTurn(env: e.clone(), episode: episode, t: e.stepCount, input: input, output: o, generationID: agent.counter, editedThought: nil)
        agent.turn = turn
        logGeneration(kind: "generate", turn: turn, text: o.text, ids: o.tokenIDs, lps: o.tokenLogProbs,
                      thought: o.thoughtLogProb, action: o.actionLogProb, value: o.value)
        return turn
    }

    func logGeneration(kind: String, turn: AgentTurn, text: String, ids: [Int32], lps: [Float], thought: Float?, action: Float?, value: Float?) {
        let g = agent.generation
        let cfg = "{\"temperature\":\(g.temperature),\"top_p\":\(g.topP),\"penalty\":\(g.repetitionPenalty),\"greedy\":\(g.greedy),\"seed\":\(g.seed),\"n\":\(agent.counter)}"
        if recordSteps { recordedGenerations.append((seq, kind, ids.map(String.init).joined(separator: ","))) }
        log?.logGeneration(GenerationRecord(episode: turn.episode, t: turn.t, kind: kind, model: agentModelName, env: turn.env.name,
                                            prompt: turn.input.prompt, text: text, tokenIDs: ids, logProbs: lps, thoughtLogProb: thought,
                                            actionLogProb: action, lambda: agent.lambda, value: value, config: cfg), commandSeq: seq)
    }

    /// Steps the env with a model's text (RL4VLM projection), with undo and a step record of source agent.
    func agentExecute(_ text: String, quiet: Bool = false) throws {
        let e = try requireEnv()
        let snapshot = e.clone()
        let (r, p) = try e.step(modelOutput: text)
        undoStack.append((snapshot, episodeReturn, lastReward))
        if quiet {
            lastReward = r.reward; episodeReturn += r.reward; lastAction = r.executedAction ?? "(invalid)"; lastInvalid = r.invalid
            let rec = StepRecord(episode: episode, t: e.stepCount, env: e.name, observation: e.textObservation, action: lastAction,
                                 source: "agent", reward: r.reward, done: r.done, info: r.info.serialized())
            log?.logStep(rec, commandSeq: seq)
            if recordSteps { recordedSteps.append((seq, rec)) }
            if r.done { log?.endEpisode(episode, return: episodeReturn, length: e.stepCount) }
        } else {
            record(r, action: r.executedAction ?? "(invalid)", source: "agent", parsed: p)
        }
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
        out(String(format: "log-prob: λ·thought + action = %.2f·(%.3f) + (%.3f) = %.3f", l, o.thoughtLogProb, o.actionLogProb, o.weightedLogProb(lambda: l)))
        let meanH = o.tokenEntropies.isEmpty ? 0 : o.tokenEntropies.reduce(0, +) / Float(o.tokenEntropies.count)
        out(String(format: "value:    %.3f   tokens: %d (%d thought, %d action), mean entropy %.3f nats",
                   o.value, o.tokenIDs.count, o.spans.actionTokenStart, o.tokenIDs.count - o.spans.actionTokenStart, meanH))
    }

    /// `thought`: coloured tokens (green p ≥ 0.9, yellow ≥ 0.5, red below) and a table with entropies.
    func showTokens(_ turn: AgentTurn) {
        let o = turn.output
        guard let m = agent.policy else { return }
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
        if let ed = turn.editedThought { out(config.style.dim("edited thought: ") + ed) }
    }

    func logEdit(_ turn: AgentTurn) throws {
        let m = try requireModel()
        let text = (turn.editedThought ?? turn.thoughtText) + turn.actionText
        let ids = m.encode(text) + (turn.output.finished ? [m.endOfText] : [])
        let ev = try m.evaluate(turn.input, outputTokens: ids, lambda: agent.lambda, temperature: scoringTemperature)
        logGeneration(kind: "edit", turn: turn, text: text, ids: ids, lps: ev.tokenLogProbs, thought: ev.thoughtLogProb, action: ev.actionLogProb, value: ev.value)
        out("thought edited (\(ev.spans.actionTokenStart) tokens): rescore compares it, act from-thought plays from it")
    }

    var scoringTemperature: Float { agent.generation.greedy && agent.generation.temperature <= 0 ? 1 : agent.generation.temperature }

    func editInEditor(_ text: String, editor: String) throws -> String {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("gtr-thought-\(getpid()).txt")
        try text.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", "\(editor) \"$1\"", "sh", file.path]
        do { try p.run() } catch { throw CommandError("cannot start $EDITOR (\(editor)): \(error.localizedDescription)") }
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw CommandError("$EDITOR exited with status \(p.terminationStatus); thought unchanged") }
        let s = (try? String(contentsOf: file, encoding: .utf8)) ?? text
        return s.hasSuffix("\n") ? String(s.dropLast()) : s
    }

    /// log π of each legal action written after `thought` (`"action": "A"}` + EOS), normalised over the legal set.
    func actionDistribution(_ m: Policy, _ turn: AgentTurn, thought: String) throws -> (probs: [(String, Double)], mass: Double) {
        let actions = turn.env.legalActions
        let outputs = actions.map { a in m.encode(thought + "\"action\": \"\(a)\"}") + [m.endOfText] }
        let lps = try m.evaluate(turn.input, outputs: outputs, lambda: 0, temperature: scoringTemperature).map { Double($0.actionLogProb) }
        let mx = lps.max() ?? 0
        let z = lps.map { exp($0 - mx) }.reduce(0, +)
        let mass = lps.map { exp($0) }.reduce(0, +)
        return (zip(actions, lps).map { ($0, exp($1 - mx) / z) }, mass)
    }

    func rescore() throws {
        guard let turn = agent.turn else { throw CommandError("no thought yet: think or step first") }
        guard let edited = turn.editedThought else { throw CommandError("the thought is not edited: thought edit or thought set first") }
        let m = try requireModel()
        let text = edited + turn.actionText
        let ids = m.encode(text) + (turn.output.finished ? [m.endOfText] : [])
        let ev = try m.evaluate(turn.input, outputTokens: ids, lambda: agent.lambda, temperature: scoringTemperature)
        let o = turn.output
        out(String(format: "thought log-prob: original %.3f (%d tokens) → edited %.3f (%d tokens)", o.thoughtLogProb, o.spans.actionTokenStart,
                   ev.thoughtLogProb, ev.spans.actionTokenStart))
        out(String(format: "λ-weighted log-prob (λ=%.2f): %.3f → %.3f", agent.lambda, o.weightedLogProb(lambda: agent.lambda), ev.logProb))
        let before = try actionDistribution(m, turn, thought: turn.thoughtText)
        let after = try actionDistribution(m, turn, thought: edited)
        out("action distribution over legal actions (original → edited thought):")
        let rows = zip(before.probs, after.probs).map { ($0.0, $0.1, $1.1) }.sorted { max($0.1, $0.2) > max($1.1, $1.2) }
        for (a, p0, p1) in rows.prefix(8) {
            let d = p1 - p0
            out(String(format: "  %-6@ %6.1f%% → %6.1f%%  (%@%.1f)", a, p0 * 100, p1 * 100, d >= 0 ? "+" : "", d * 100))
        }
        out(String(format: "probability of writing a legal action in format: %.3f → %.3f", before.mass, after.mass))
        logGeneration(kind: "rescore", turn: turn, text: text, ids: ids, lps: ev.tokenLogProbs, thought: ev.thoughtLogProb, action: ev.actionLogProb, value: ev.value)
    }

    func actFromThought() throws {
        guard var turn = agent.turn else { throw CommandError("no thought yet: think or step first") }
        let m = try requireModel()
        let e = try requireEnv()
        guard turn.episode == episode, turn.t == e.stepCount, !e.isDone else {
            throw CommandError("the state changed since the thought (episode \(turn.episode) t=\(turn.t)); think again")
        }
        let thought = turn.editedThought ?? turn.thoughtText
        let g = nextGenerationConfig()
        guard let o = try m.generate([turn.input], prefixes: [m.encode(thought)], config: g).first else { throw CommandError("the model returned nothing") }
        turn.output = o
        turn.editedThought = nil
        agent.turn = turn
        logGeneration(kind: "continue", turn: turn, text: o.text, ids: o.tokenIDs, lps: o.tokenLogProbs, thought: o.thoughtLogProb, action: o.actionLogProb, value: o.value)
        out("continued: …" + oneLine(String(o.text.dropFirst(thought.count)), max: 200))
        try agentExecute(o.text)
    }

    func evaluateAgent(_ a: Arguments) throws {
        let m = try requireModel()
        let name = a.options["env"] ?? env?.name ?? "points24"
        guard EnvironmentRegistry.names.contains(name) else { throw CommandError("env=\(name): unknown (\(EnvironmentRegistry.names.joined(separator: ", ")))") }
        let n = try a.int("episodes", default: 100, range: 1...1_000_000)
        let seed = try a.seed() ?? 0
        let batch = try a.int("batch", default: 8, range: 1...256)
        var g = agent.generation
        for p in a.positional {
            switch p {
            case "greedy": g.greedy = true
            case "sample": g.greedy = false
            default: throw CommandError("unknown word '\(p)' (greedy or sample)")
            }
        }
        var opts = a.options.filter { !["episodes", "seed", "env", "batch"].contains($0.key) }
        if env?.name == name, a.options["env"] == nil { for (k, v) in envOptions where opts[k] == nil { opts[k] = v } }
        _ = try EnvironmentRegistry.make(name).reset(seed: 0, options: opts)  // validates options up front
        var bar = progressBar(total: n, label: "eval")
        let dummy = try EnvironmentRegistry.make(name)
        let report = try AgentEvaluation.run(m, env: name, options: opts, episodes: n, seed: seed, config: g, batch: batch, onStep: { st in
            let turn = AgentTurn(env: dummy, episode: st.episode, t: st.t, input: st.input, output: st.output)
            self.logGeneration(kind: "generate", turn: turn, text: st.output.text, ids: st.output.tokenIDs, lps: st.output.tokenLogProbs,
                               thought: st.output.thoughtLogProb, action: st.output.actionLogProb, value: st.output.value)
        }, progress: { bar.update($0, "") }, shouldStop: { Interrupt.pending })
        if Interrupt.pending { Interrupt.clear(); out("interrupted: partial results") }
        let optText = opts.sorted { $0.key < $1.key }.map { " \($0.key)=\($0.value)" }.joined()
        out("eval \(name)\(optText) seeds \(seed)…\(seed + UInt64(n) - 1) \(g.greedy ? "greedy" : "T=\(g.temperature)"):")
        for l in report.lines { out("  " + l) }
    }
}

extension Shell {
    /// The agent plays one seeded hand on its own copy of the env (for `play … vs-agent`); generations are logged.
    func agentPlays(seed: UInt64, options: [String: String]) throws -> (Double, Int, String) {
        let m = try requireModel()
        let e = Points24()
        try e.reset(seed: seed, options: options)
        var ret = 0.0
        while !e.isDone {
            let input = AgentInput.from(e)
            let g = nextGenerationConfig()
            guard let o = try m.generate([input], config: g).first else { break }
            logGeneration(kind: "generate", turn: AgentTurn(env: e, episode: episode, t: e.stepCount, input: input, output: o),
                          text: o.text, ids: o.tokenIDs, lps: o.tokenLogProbs, thought: o.thoughtLogProb, action: o.actionLogProb, value: o.value)
            ret += try e.step(modelOutput: o.text).0.reward
        }
        return (ret, e.stepCount, e.formulaText)
    }
}
