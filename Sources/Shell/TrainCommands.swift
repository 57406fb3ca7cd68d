import Agents
import Correctors
import Environments
import Foundation
import Support
import SessionLog
import Training

/// `train`: PPO-GTR runs beside the prompt (start, status, pause, resume, stop, label, rollback, runs, break,
/// wait, inspect). Runs live in `$GTR_HOME/runs/<id>` (run.json and one checkpoint directory per saved update);
/// their metrics go to the session log.
extension Shell {
    static let trainSubcommands = ["start", "status", "pause", "resume", "stop", "label", "rollback", "runs", "break", "wait", "inspect"]

    static let trainCommand = CommandSpec(
        name: "train", group: "training",
        summary: "PPO-GTR training beside the prompt: start, status, pause, resume, stop, label, rollback, runs, break, wait, inspect",
        example: "train start algo=gtr env=numberline updates=20 envs=8 steps=16",
        positionals: [.optional("SUBCOMMAND", trainSubcommands), .many("ARGS")],
        options: [
            OptionSpec("algo", .choice(TrainingAlgorithm.allCases.map(\.rawValue)), default: TrainerConfig().algo.rawValue,
                       "gtr: PPO + thought cloning; ppo: RL4VLM; sft-only: cloning only"),
            OptionSpec("env", .choice(EnvironmentRegistry.names), default: TrainerConfig().env),
            OptionSpec("updates", .int(1...1_000_000), default: String(TrainerConfig().updates)),
            OptionSpec("steps", .int(1...100_000), default: String(TrainerConfig().steps), "env steps per env per rollout"),
            OptionSpec("envs", .int(1...64), default: String(TrainerConfig().envs), "parallel environments"),
            OptionSpec("lambda", .number(0...1), "thought weight λ (default 0.5; 0.2 for alfworld)"),
            OptionSpec("lr", .number(1e-9...1), default: String(TrainerConfig().lr)),
            OptionSpec("corrector", .text, default: "oracle", "a configured corrector (corrector list)"),
            OptionSpec("seed", .seed, default: String(TrainerConfig().seed)),
            OptionSpec("eval_every", .int(0...1_000_000), default: String(TrainerConfig().evalEvery), "0: no periodic evaluation"),
            OptionSpec("eval_episodes", .int(1...100_000), default: String(TrainerConfig().evalEpisodes)),
            OptionSpec("checkpoint_every", .int(0...1_000_000), default: String(TrainerConfig().checkpointEvery)),
            OptionSpec("truncation", .bool, default: "false", "GTR's early truncation of card-game episodes"),
            OptionSpec("temperature", .number(0.01...10), default: String(TrainerConfig().temperature)),
            OptionSpec("max_tokens", .int(1...4096), default: String(TrainerConfig().maxNewTokens)),
            OptionSpec("epochs", .int(1...100), default: String(PPOUpdateConfig().epochs)),
            OptionSpec("minibatch", .int(1...4096), default: String(PPOUpdateConfig().minibatch)),
            OptionSpec("accumulation", .int(1...1024), default: String(PPOUpdateConfig().accumulation)),
            OptionSpec("sft_weight", .number(0...100), default: "1", "thought-cloning weight"),
            OptionSpec("anneal", .bool, default: "false", "cosine-anneal the SFT weight (the paper's ablation)"),
            OptionSpec("mask", .choice(["member", "value"]), default: "member", "thought cloning masks the whole action member (GTR) or only its value"),
            OptionSpec("ratio_guard", .number(1...1e6), "drop samples whose ratio exceeds this from the policy gradient (GTR: 10)"),
            OptionSpec("entropy_coef", .number(0...10), default: "0"), OptionSpec("kl_coef", .number(0...100), default: "0"),
            OptionSpec("env_options", .text, "reset options of the training envs, e.g. \"time_limit=10 max_position=3\""),
            OptionSpec("model", .path, "train from this checkpoint directory instead of the loaded agent"),
            OptionSpec("run", .int(1...1_000_000), "resume/rollback/inspect/runs: which run"),
            OptionSpec("update", .int(0...1_000_000), "inspect: which update (default: the last)"),
            OptionSpec("sort", .choice(["advantage", "-advantage", "reward", "step"]), default: "advantage", "inspect: worst advantage first"),
            OptionSpec("only", .choice(["all", "corrected", "invalid", "wrong"]), default: "all", "inspect: which steps"),
            OptionSpec("limit", .int(1...100_000), default: "20", "inspect: rows shown"),
            OptionSpec("action", .text, "label: the action to keep when the thought names none"),
        ],
        usageOverride: """
            train start [algo=gtr|ppo|sft-only] [env=E] [updates=N] [steps=N] [envs=N] [lr=X] [corrector=NAME] [seed=N] [eval_every=N] … | \
            train status | train pause | train resume [run=ID] | train stop | train rollback K [run=ID] | train runs | \
            train break when METRIC OP VALUE | train break list | train break clear | train wait | train label [action=A] | \
            train inspect [update=K] [sort=advantage|-advantage|reward|step] [only=all|corrected|invalid|wrong] [limit=N]
            """,
        volatile: true) { sh, a in
        try sh.trainCommand(a)
    }


    func trainCommand(_ a: Arguments) throws {
        let sub = a.positional.first ?? "status"
        let rest = Array(a.positional.dropFirst())
        let startOnly = Set(Shell.trainCommand.options.map(\.key)).subtracting(["run", "update", "sort", "only", "limit", "action"])
        if sub != "start", let k = a.optionOrder.first(where: { startOnly.contains($0) }) {
            throw CommandError("\(k)= is an option of train start")
        }
        switch sub {
        case "start": try trainStart(a)
        case "status": trainStatus()
        case "pause": try trainPause()
        case "resume": try trainResume(run: a.int("run"))
        case "stop": try trainStop()
        case "label": try trainLabel(action: a.string("action"))
        case "rollback":
            guard rest.count == 1, let k = Int(rest[0]), k >= 0 else { throw CommandError("usage: train rollback K [run=ID] (K: an update with a checkpoint)") }
            try trainRollback(to: k, run: a.int("run"))
        case "runs": trainRuns()
        case "break": try trainBreak(rest)
        case "wait": try trainWait()
        case "inspect": try trainInspect(a)
        default: throw CommandError("unknown subcommand '\(sub)' (\(Shell.trainSubcommands.joined(separator: ", ")))")
        }
        drainTrainingNotices()
    }

    // MARK: start

    func trainStart(_ a: Arguments) throws {
        if let r = training, r.currentState == .running || r.currentState == .paused {
            throw CommandError("run \(r.id) is \(r.currentState.word): train stop first (train resume run=\(r.id) can continue it later)")
        }
        var c = try trainerConfig(a)
        let corrections = try trainingCorrections(c)
        let source: Policy
        if let dir = a.string("model") { source = try PolicyRegistry.load(from: resolve(dir)) } else { source = try requireModel() }
        // a text-only model plays its rollouts and evaluations in text mode
        c.options = observationOptions(c.options, for: source)
        let model = try PolicyRegistry.trainableCopy(of: source)
        if let l = model as? LlamaPolicy, l.lora == nil {
            // a pretrained llama trains through LoRA adapters (the base stays frozen)
            do { try l.enableLoRA(LoRAConfig(), seed: c.seed) } catch let e as AgentError { throw CommandError(e.description) }
            out("LoRA rank \(l.lora!.config.rank) adapters on \(l.name) (\(l.parameterCount) trainable parameters; the base is frozen)")
        }
        let trainer = try Trainer(config: c, model: model, corrections: corrections)
        let id = nextRunID()
        let run = TrainingRun(id: id, dir: runsDirectory.appendingPathComponent(String(id)), trainer: trainer, parent: nil)
        try writeRunFile(run)
        try run.checkpointIfNeeded()
        out("run \(id): \(c.algo.rawValue) on \(c.env), \(c.updates) updates × \(c.envs) envs × \(c.steps) steps, lr \(c.lr), λ \(c.lambda), seed \(c.seed)"
            + (trainer.corrections.map { ", corrector \($0.name)" } ?? "") + "; checkpoints in \(run.dir.path)")
        try launch(run, initialEvaluation: true)
    }

    /// The run configuration `train start` and `experiment` read from their options (checked, env options included).
    func trainerConfig(_ a: Arguments) throws -> TrainerConfig {
        var c = TrainerConfig()
        if let v = a.string("algo") { c.algo = TrainingAlgorithm(rawValue: v)! }
        c.env = a.string("env") ?? c.env
        if let v = a.int("updates") { c.updates = v }
        if let v = a.int("steps") { c.steps = v }
        if let v = a.int("envs") { c.envs = v }
        c.lambda = a.double("lambda").map(Float.init) ?? LambdaSplit.defaultLambda(env: c.env)
        if let v = a.double("lr") { c.lr = Float(v); c.lrFloor = min(c.lrFloor, c.lr) }
        c.corrector = a.string("corrector") ?? c.corrector
        if let v = a.seed("seed") { c.seed = v }
        if let v = a.int("eval_every") { c.evalEvery = v }
        if let v = a.int("eval_episodes") { c.evalEpisodes = v }
        if let v = a.int("checkpoint_every") { c.checkpointEvery = v }
        if let v = a.bool("truncation") { c.truncation = v }
        if let v = a.double("temperature") { c.temperature = Float(v) }
        if let v = a.int("max_tokens") { c.maxNewTokens = v }
        if let v = a.int("epochs") { c.update.epochs = v }
        if let v = a.int("minibatch") { c.update.minibatch = v }
        if let v = a.int("accumulation") { c.update.accumulation = v }
        if let v = a.double("sft_weight") { c.update.sftWeight = Float(v) }
        if let v = a.bool("anneal") { c.mixing.cosineAnnealing = v }
        if a.string("mask") == "value" { c.maskActionValueOnly = true }
        c.update.ppo.ratioGuard = a.double("ratio_guard")
        if let v = a.double("entropy_coef") { c.update.ppo.entropyCoef = v }
        if let v = a.double("kl_coef") { c.update.ppo.klCoef = v }
        if let text = a.string("env_options") {
            for pair in text.split(whereSeparator: { $0 == " " || $0 == "," }) {
                let kv = pair.split(separator: "=", maxSplits: 1).map(String.init)
                guard kv.count == 2, !kv[0].isEmpty else { throw CommandError("env_options: '\(pair)' is not key=value") }
                c.options[kv[0]] = kv[1]
            }
        }
        do { try c.validate() } catch let e as TrainerError { throw CommandError(e.description) }
        // The env and its options are checked before any model work.
        do { let e = try EnvironmentRegistry.make(c.env); try e.reset(seed: 0, options: c.options) } catch let e as EnvironmentError {
            throw CommandError("env_options: \(e.description)")
        }
        return c
    }

    /// The corrector a run calls (nil for `algo=ppo`), wired to the session log's cache and ledger.
    func trainingCorrections(_ c: TrainerConfig) throws -> CorrectionService? {
        guard c.algo != .ppo else { return nil }
        if c.corrector == "human" { throw CommandError("corrector=human cannot answer inside a run: train pause, then think, thought edit and train label") }
        guard let corrector = correctorSession.correctors[c.corrector] else {
            throw CommandError("unknown corrector '\(c.corrector)' (configured: \(correctorSession.correctors.keys.sorted().joined(separator: ", ")))")
        }
        let service = CorrectionService(corrector)
        guard !(corrector is OracleCorrector), let log else { return service }
        let commandSeq = seq
        service.lookup = { hash in log.cachedCorrection(requestHash: hash).flatMap(Shell.reply(from:)) }
        service.record = { req, reply, hash, ctx in
            log.logCorrection(Shell.ledgerRow(req, reply, hash: hash, corrector: corrector, name: corrector.name, episode: ctx.episode, t: ctx.t),
                              commandSeq: commandSeq)
        }
        return service
    }

    /// Logs the run, sets its thread going and makes it the shell's run.
    func launch(_ run: TrainingRun, initialEvaluation: Bool) throws {
        let c = run.trainer.config
        let configText = (try? String(decoding: JSONEncoder().encode(c), as: UTF8.self)) ?? "{}"
        log?.logTrainingRun(run.id, parent: run.parent, algo: c.algo.rawValue, env: c.env, config: configText, dir: run.dir.path)
        // Every update's rollout steps go to runs/ID/rollouts.jsonl (what `export run=ID` reads).
        run.trainer.rolloutFile = run.dir.appendingPathComponent(RolloutFile.name)
        let log = self.log, id = run.id
        run.onUpdate = { m in log?.logTrainingMetrics(run: id, update: m.update, values: m.values) }
        if initialEvaluation, run.trainer.completedUpdates == 0, let m = try run.trainer.initialEvaluation() {
            run.onUpdate(m)
            out("update 0 (before training): " + m.line(["eval_success_greedy", "eval_success_sampled", "eval_valid_greedy"]))
        }
        training = run
        run.start()
        out(config.style.dim("training in the background: train status, train pause, train wait; the prompt stays usable"))
    }

    // MARK: status, pause, resume, stop

    func requireRun() throws -> TrainingRun {
        guard let r = training else { throw CommandError("no training run in this shell: train start … (or train resume run=ID)") }
        return r
    }

    func trainStatus() {
        guard let r = training else { out("no training run in this shell (train runs lists saved runs)"); return }
        let s = r.status()
        let c = r.trainer.config
        let done = Double(s.update) + Double(s.rolloutStep) / Double(max(1, s.steps + 1))
        let frac = min(1, done / Double(max(1, s.updates)))
        let width = 24, filled = Int(frac * Double(width))
        var line = "run \(r.id) (\(c.algo.rawValue) on \(c.env)): \(s.state.word)\(s.pauseRequested ? " (pausing)" : "")  "
        line += "[" + String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled) + "]"
        line += " update \(min(s.update + (s.state == .running || s.rolloutStep > 0 ? 1 : 0), s.updates))/\(s.updates)"
        if s.state != .finished { line += ", rollout step \(s.rolloutStep)/\(s.steps)" }
        if let spu = s.secondsPerUpdate, s.state == .running {
            line += ", ETA " + Shell.duration(spu * (Double(s.updates) - done))
        }
        out(line)
        if case let .failed(m) = s.state { out(config.style.red("error: " + m)) }
        if let m = s.last { out("last update \(m.update): " + m.line()) }
        let b = r.currentBreakpoints
        if !b.isEmpty { out("breakpoints: " + b.map(\.description).joined(separator: ", ")) }
        let dagger = r.isRunning ? nil : r.trainer.dagger
        if let d = dagger { out("DAgger buffer: \(d.count) steps, \(d.labelledCount) labelled " + d.sources.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.key.rawValue) \($0.value)" }.joined(separator: ", ")) }
    }

    static func duration(_ s: Double) -> String {
        guard s.isFinite, s >= 0 else { return "?" }
        let t = Int(s.rounded())
        return t >= 3600 ? "\(t / 3600)h\(t % 3600 / 60)m" : t >= 60 ? "\(t / 60)m\(t % 60)s" : "\(t)s"
    }

    func trainPause() throws {
        let r = try requireRun()
        guard r.isRunning else { out("run \(r.id) is \(r.currentState.word)"); return }
        r.pause()
        adoptRunPolicy(r)
        let t = r.trainer
        out("run \(r.id) paused at update \(t.completedUpdates + 1), rollout step \(t.rolloutStep)/\(t.config.steps)")
        out(config.style.dim("think, step, thought edit, rescore and correct now use the run's current policy; train label adds the thought; train resume"))
    }

    /// The shell's agent becomes a frozen copy of the run's current weights.
    func adoptRunPolicy(_ r: TrainingRun) {
        agent.policy = r.trainer.model.snapshot()
        agent.source = "run \(r.id), update \(r.trainer.completedUpdates)"
        agent.turn = nil
    }

    func trainResume(run id: Int?) throws {
        if let r = training, id == nil || id == r.id {
            switch r.currentState {
            case .running: out("run \(r.id) is running"); return
            case .finished: throw CommandError("run \(r.id) is finished (train rollback K starts a branch from update K)")
            case let .failed(m): throw CommandError("run \(r.id) failed (\(m)); train rollback K restarts from a checkpoint")
            case .paused, .stopped:
                // Read the position before the thread starts: afterwards only `status()` may look at the run.
                let at = "update \(r.trainer.completedUpdates + 1), rollout step \(r.trainer.rolloutStep)/\(r.trainer.config.steps)"
                r.start()
                out("run \(r.id) resumed at " + at)
                return
            }
        }
        guard let id else { throw CommandError("no run in this shell to resume: train resume run=ID (train runs lists them)") }
        if let r = training, r.isRunning { throw CommandError("run \(r.id) is running: train pause or train stop first") }
        let dir = runsDirectory.appendingPathComponent(String(id))
        guard let last = TrainingRun.checkpoints(in: dir).last else { throw CommandError("run \(id) has no checkpoint in \(dir.path)") }
        let file = readRunFile(id)
        let trainer = try restoreTrainer(dir.appendingPathComponent("update-\(last)"))
        let run = TrainingRun(id: id, dir: dir, trainer: trainer, parent: file.flatMap { f in f.parentRun.map { ($0, f.parentUpdate ?? 0) } })
        guard !trainer.isFinished else { training = run; adoptRunPolicy(run); throw CommandError("run \(id) is finished (its last checkpoint is update \(last))") }
        // The updates after the checkpoint are collected again: their old rollout lines go.
        do { try RolloutFile.truncate(dir.appendingPathComponent(RolloutFile.name), through: last) } catch { throw CommandError("\(error)") }
        out("run \(id) resumed from its checkpoint at update \(last)")
        try launch(run, initialEvaluation: false)
    }

    func restoreTrainer(_ dir: URL) throws -> Trainer {
        // The saved config names the corrector; it must be configured in this shell too.
        guard let d = try? Data(contentsOf: dir.appendingPathComponent("trainer.json")),
              case let .object(o)? = try? JSONParser.parse(String(decoding: d, as: UTF8.self)), let cfgValue = o.first(where: { $0.0 == "config" })?.1,
              let cfg = try? JSONDecoder().decode(TrainerConfig.self, from: Data(cfgValue.serialized().utf8)) else {
            throw CommandError("\(dir.path) is not a training checkpoint (no readable trainer.json)")
        }
        do { return try Trainer(restoring: dir, corrections: try trainingCorrections(cfg)) } catch let e as TrainerError {
            throw CommandError(e.description)
        }
    }

    func trainStop() throws {
        let r = try requireRun()
        let was = r.currentState
        r.stop()
        try r.checkpointIfNeeded()
        adoptRunPolicy(r)
        let t = r.trainer
        let where_ = t.atUpdateBoundary ? "after update \(t.completedUpdates)" : "in update \(t.completedUpdates + 1) (rollout step \(t.rolloutStep))"
        out("run \(r.id) \(was == .running || was == .paused ? "stopped" : was.word) \(where_); checkpoints: "
            + r.checkpoints.map(String.init).joined(separator: ", ") + "; the agent is now the run's policy")
    }

    // MARK: label, rollback, runs

    func trainLabel(action given: String?) throws {
        let r = try requireRun()
        guard !r.isRunning else { throw CommandError("run \(r.id) is running: train pause first (a label joins the buffer between steps)") }
        guard let turn = agent.turn else { throw CommandError("no thought to label: think (and thought edit) first") }
        let parse = turn.env.strictParse(turn.currentText)
        guard let action = given ?? parse.action ?? turn.env.project(turn.output.text).action else {
            throw CommandError("the agent's output names no action: train label action=A keeps A (the label clones the thought, not the action)")
        }
        let s: DAggerSample
        do { s = try r.trainer.addLabel(thought: turn.editableThought, action: action, input: turn.input) } catch {
            throw CommandError("the thought is not a JSON object: \(error)")
        }
        let d = r.trainer.dagger
        out("labelled: " + s.text)
        out("DAgger buffer: \(d.count) steps, \(d.labelledCount) labelled (\(d.sources[.human] ?? 0) by hand); the action member is masked")
    }

    func trainRollback(to k: Int, run id: Int?) throws {
        if let r = training, r.isRunning { throw CommandError("run \(r.id) is running: train pause or train stop first") }
        guard let from = id ?? training?.id else { throw CommandError("which run? train rollback K run=ID") }
        let dir = runsDirectory.appendingPathComponent(String(from))
        let saved = TrainingRun.checkpoints(in: dir)
        guard saved.contains(k) else {
            throw CommandError("run \(from) has no checkpoint at update \(k) (checkpoints: \(saved.isEmpty ? "none" : saved.map(String.init).joined(separator: ", ")))")
        }
        if let r = training, r.id == from, r.currentState == .paused { r.stop() }
        let trainer = try restoreTrainer(dir.appendingPathComponent("update-\(k)"))
        let id2 = nextRunID()
        let run = TrainingRun(id: id2, dir: runsDirectory.appendingPathComponent(String(id2)), trainer: trainer, parent: (from, k))
        try writeRunFile(run)
        try run.checkpointIfNeeded()
        // The branch's rollouts start with its parent's up to the branch point.
        do { try RolloutFile.copy(from: dir.appendingPathComponent(RolloutFile.name), to: run.dir.appendingPathComponent(RolloutFile.name), through: k) } catch {
            throw CommandError("\(error)")
        }
        out("run \(id2): a branch of run \(from) from its update \(k)")
        try launch(run, initialEvaluation: false)
    }

    func trainBreak(_ words: [String]) throws {
        let r = try requireRun()
        switch words.first {
        case "list"?, nil:
            let b = r.currentBreakpoints
            out(b.isEmpty ? "no breakpoints (train break when METRIC OP VALUE)" : b.map { "break when \($0)" }.joined(separator: "\n"))
        case "clear"?:
            r.setBreakpoints([]); out("breakpoints cleared")
        case "when"?:
            guard words.count == 4, Condition.comparators.contains(words[2]), let v = Double(words[3]), v.isFinite else {
                throw CommandError("usage: train break when METRIC OP VALUE (OP: < <= > >= == !=), e.g. train break when distinct2 < 0.3")
            }
            guard UpdateMetrics.names.contains(words[1]) else {
                let best = UpdateMetrics.names.min { editDistance($0, words[1]) < editDistance($1, words[1]) } ?? ""
                throw CommandError("unknown metric '\(words[1])'; did you mean '\(best)'? (metrics: \(UpdateMetrics.names.joined(separator: " ")))")
            }
            let b = Breakpoint(metric: words[1], op: words[2], value: v)
            r.setBreakpoints(r.currentBreakpoints + [b])
            out("run \(r.id) pauses when \(b)")
        default:
            throw CommandError("usage: train break when METRIC OP VALUE | train break list | train break clear")
        }
    }

    /// Blocks until the run ends, pauses or trips a breakpoint, printing each update; Ctrl-C returns to the prompt
    /// (the run goes on).
    func trainWait() throws {
        let r = try requireRun()
        guard r.isRunning else { out("run \(r.id) is \(r.currentState.word)"); publishTrainingVariables(r); return }
        var seen = r.status().last?.update ?? -1
        var bar = progressBar(total: r.trainer.config.updates * r.trainer.config.steps, label: "train")
        let finishedWaiting = r.wait(interrupted: {
            if Interrupt.pending { Interrupt.clear(); return true }
            return false
        }) { s in
            if let m = s.last, m.update != seen {
                seen = m.update
                out("update \(m.update)/\(s.updates): " + m.line())
            }
            bar.update(min(s.update, s.updates) * s.steps + s.rolloutStep, "update \(min(s.update + 1, s.updates))/\(s.updates)")
        }
        bar.finish()
        drainTrainingNotices()
        if !finishedWaiting { out("stopped waiting; run \(r.id) goes on (train status)") }
        if !r.isRunning { adoptRunPolicy(r) }
        publishTrainingVariables(r)
    }

    /// Prints what the run's thread reported since the last command (breakpoints, the end, errors).
    func drainTrainingNotices() {
        guard let r = training else { return }
        for n in r.takeNotices() { out(config.style.yellow(n)) }
        publishTrainingVariables(r)
    }

    /// `$train_state`, `$train_update`, `$train_run`, `$train_finite` and `$train_<metric>` of the last update.
    func publishTrainingVariables(_ r: TrainingRun) {
        let s = r.status()
        for k in variables.keys where k.hasPrefix("train_") { variables.removeValue(forKey: k) }
        variables["train_run"] = String(r.id)
        variables["train_state"] = s.state.word
        variables["train_update"] = String(s.last?.update ?? 0)
        if let m = s.last {
            for (k, v) in m.values { variables["train_" + k] = UpdateMetrics.format(v) }
            variables["train_finite"] = m.values.values.allSatisfy(\.isFinite) ? "true" : "false"
        }
    }
}
