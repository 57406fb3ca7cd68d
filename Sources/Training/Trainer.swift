// Longer than ~400 lines on purpose: the trainer's state, its step, and the checkpoint that saves and restores
// exactly that state must change together (a field missed by the checkpoint breaks exact resumption).
import Agents
import Correctors
import Environments
import Episodes
import Foundation
import Support
import Tensors

/// What one `Trainer.step()` did.
public enum TrainerEvent: Sendable {
    /// One batched step of all E envs was collected (`step` of `of` in the rollout of update `update`, 1-based).
    case envStep(update: Int, step: Int, of: Int)
    /// An update finished, with its metrics (checkpoints are taken at these boundaries).
    case updated(UpdateMetrics)
    /// The run had already done all its updates.
    case finished
}

/// One rollout step as `train inspect` shows it.
public struct InspectRow: Sendable, Equatable {
    public var envIndex: Int
    public var episode: Int
    public var t: Int
    public var advantage: Double
    public var reward: Double
    public var valid: Bool
    public var action: String
    public var verdict: String?
    public var labelled: Bool
    public var truncation: String?
    public var thought: String
    public var correction: String?
}

/// PPO-GTR as a resumable job (digest §1–§5, with the §11 fixes): `step()` advances by one environment step of
/// all E envs, or by one update once the rollout is full, so a caller can drive it to the end, stop between any two
/// steps (pause) and checkpoint at any update boundary (`save(to:)` / `init(restoring:)`). Everything random comes
/// from seeded state saved in checkpoints, so a paused-and-resumed or checkpoint-resumed run gives exactly the
/// metrics of an uninterrupted one.
public final class Trainer: RolloutReviewer {
    public let config: TrainerConfig
    public let model: TrainablePolicy
    public let optimizer: Adam
    public private(set) var dagger: DAggerBuffer
    /// Updates done (0 before the first).
    public private(set) var completedUpdates = 0
    /// Env steps collected in the current rollout (0 at an update boundary).
    public private(set) var rolloutStep = 0
    public private(set) var envSteps = 0
    public private(set) var optimizerSteps = 0
    public private(set) var history: [UpdateMetrics] = []
    /// The last updates' rollouts as `train inspect` shows them, by update number.
    public private(set) var inspected: [Int: [InspectRow]] = [:]
    public let corrections: CorrectionService?
    /// Where every update's rollout steps are appended (`RolloutFile`; the shell points it at `runs/ID/rollouts.jsonl`),
    /// or nil to keep them only in memory.
    public var rolloutFile: URL?
    /// The initial policy (for the KL penalty, when it is on).
    private let reference: Policy?
    private var rng: SeededRNG
    private var collector: RolloutCollector
    private var partial: [[RolloutStep]]
    private var finishedThisRollout: [(return: Double, success: Bool)] = []
    private var window: [WindowEntry] = []
    private var targets: [TargetFormula]
    private var timing = (generate: 0.0, correct: 0.0)
    private var countersAtRolloutStart = CorrectionCounters()

    struct WindowEntry: Codable, Equatable { var ret: Double; var success: Bool }

    /// A new run training `model` (which the trainer then owns and updates). `corrections` is the corrector for
    /// `gtr` and `sft-only` (nil: the oracle).
    public init(config: TrainerConfig, model: TrainablePolicy, corrections: CorrectionService? = nil) throws {
        try config.validate()
        self.config = config
        self.model = model
        optimizer = Adam(model.namedParameters(), learningRate: config.lr)
        dagger = DAggerBuffer(sampling: config.daggerSampling, perMinibatch: config.daggerPerMinibatch, mixing: config.mixing)
        rng = SeededRNG(seed: config.seed &* 0x9E37_79B9 &+ 17)
        collector = try RolloutCollector(env: config.env, options: config.options, count: config.envs, seed: config.seed &* 1_000_003)
        partial = .init(repeating: [], count: config.envs)
        targets = .init(repeating: TargetFormula(), count: config.envs)
        self.corrections = config.algo == .ppo ? nil : (corrections ?? CorrectionService(OracleCorrector()))
        reference = config.update.ppo.klCoef != 0 ? model.snapshot() : nil
        collector.reviewer = self
    }

    public var isFinished: Bool { completedUpdates >= config.updates }
    /// True between updates: the state a checkpoint can hold.
    public var atUpdateBoundary: Bool { rolloutStep == 0 }

    var generationConfig: GenerationConfig {
        var g = GenerationConfig(temperature: config.temperature, maxNewTokens: config.maxNewTokens, seed: config.seed &+ 0x5EED)
        g.greedy = false
        return g
    }

    var bonus: FormatBonus? { config.formatBonus > 0 ? FormatBonus(amount: config.formatBonus) : nil }

    /// The learning rate of 1-based optimizer step `k`: cosine from `lr` to `lrFloor` over the run, as GTR.
    public func learningRate(step k: Int) -> Float {
        guard config.cosineLR else { return config.lr }
        return CosineSchedule(peak: config.lr, floor: config.lrFloor, warmupSteps: 0, totalSteps: config.totalOptimizerSteps)(k)
    }

    /// The evaluation before training (update 0), when evaluation is on.
    public func initialEvaluation() throws -> UpdateMetrics? {
        guard config.evalEvery > 0 else { return nil }
        var m = UpdateMetrics(update: 0)
        let t0 = Date()
        try evaluate(into: &m)
        m["t_eval"] = Date().timeIntervalSince(t0)
        return m
    }

    /// One unit of work: an environment step of every env, or the update when the rollout is full.
    @discardableResult
    public func step(shouldStop: () -> Bool = { false }) throws -> TrainerEvent {
        guard !isFinished else { return .finished }
        if rolloutStep == 0 { countersAtRolloutStart = corrections?.counters ?? CorrectionCounters(); timing = (0, 0) }
        if rolloutStep < config.steps {
            let t0 = Date()
            let before = corrections?.counters.seconds ?? 0
            let r = try collector.step(model, config: generationConfig, lambda: config.lambda, bonus: bonus)
            let corrected = (corrections?.counters.seconds ?? 0) - before
            timing.generate += Date().timeIntervalSince(t0) - corrected
            timing.correct += corrected
            for s in r.steps { partial[s.envIndex].append(s) }
            finishedThisRollout += r.finished
            rolloutStep += 1
            envSteps += r.steps.count
            if rolloutStep < config.steps { return .envStep(update: completedUpdates + 1, step: rolloutStep, of: config.steps) }
        }
        return .updated(try finishUpdate(shouldStop: shouldStop))
    }

    /// Drives the run to its end (what tests and `train wait` do underneath).
    public func run(until stop: (TrainerEvent) -> Bool = { _ in false }) throws {
        while !isFinished { if stop(try step()) { return } }
    }

    // MARK: the update

    private func finishUpdate(shouldStop: () -> Bool) throws -> UpdateMetrics {
        let t0 = Date()
        let rollout = Rollout(steps: partial, lastValues: try collector.values(model), finished: finishedThisRollout)
        var uc = config.update
        uc.lambda = config.lambda
        uc.temperature = config.temperature
        switch config.algo {
        case .gtr: break
        case .ppo: uc.sftWeight = 0
        case .sftOnly: uc.ppoWeight = 0
        }
        let stats = try PPOUpdate.run(model, optimizer: optimizer, rollout: rollout, config: uc, dagger: &dagger,
                                      update: completedUpdates, totalUpdates: config.updates, rng: &rng, reference: reference,
                                      beforeStep: { [self] in optimizerSteps += 1; optimizer.learningRate = learningRate(step: optimizerSteps) })
        let tUpdate = Date().timeIntervalSince(t0)
        completedUpdates += 1
        var m = metrics(rollout, stats)
        m["t_update"] = tUpdate
        m["t_generate"] = timing.generate
        m["t_correct"] = timing.correct
        if config.evalEvery > 0, completedUpdates % config.evalEvery == 0 || completedUpdates == config.updates {
            let t1 = Date()
            try evaluate(into: &m)
            m["t_eval"] = Date().timeIntervalSince(t1)
        }
        inspected[completedUpdates] = try inspectRows(rollout, config: uc)
        inspected[completedUpdates - 20] = nil
        history.append(m)
        partial = .init(repeating: [], count: config.envs)
        finishedThisRollout = []
        rolloutStep = 0
        if let url = rolloutFile {
            try RolloutFile.append(RolloutFile.records(update: completedUpdates, rollout: rollout, env: config.env, options: config.options), to: url)
        }
        return m
    }

    private func metrics(_ r: Rollout, _ s: PPOUpdateStats) -> UpdateMetrics {
        var m = UpdateMetrics(update: completedUpdates)
        let flat = r.steps.flatMap { $0 }
        let n = Double(max(1, flat.count))
        for e in r.finished { window.append(WindowEntry(ret: e.return, success: e.success)) }
        if window.count > config.rollingWindow { window.removeFirst(window.count - config.rollingWindow) }
        if !window.isEmpty {
            m["train_success"] = Double(window.filter(\.success).count) / Double(window.count)
            m["train_return"] = window.map(\.ret).reduce(0, +) / Double(window.count)
        }
        m["episodes"] = Double(r.finished.count)
        m["env_steps"] = Double(envSteps)
        m["valid"] = Double(flat.filter(\.valid).count) / n
        m["legal"] = Double(flat.filter(\.legal).count) / n
        if corrections != nil {
            m["corrected"] = Double(flat.filter { $0.review?.labelled == true }.count) / n
            let judged = flat.compactMap(\.review).filter { $0.verdict != "NONE" }
            if !judged.isEmpty { m["judged_wrong"] = Double(judged.filter { $0.verdict == "NO" }.count) / Double(judged.count) }
        }
        let rec = flat.compactMap(\.recognised)
        if !rec.isEmpty { m["recognition"] = Double(rec.filter { $0 }.count) / Double(rec.count) }
        let rel = flat.compactMap(\.relevant)
        if !rel.isEmpty { m["relevance"] = Double(rel.filter { $0 }.count) / Double(rel.count) }
        let thoughts = flat.map { Trainer.thoughtText($0.output) }
        m["distinct1"] = ThoughtDiversity.distinct(thoughts, n: 1)
        m["distinct2"] = ThoughtDiversity.distinct(thoughts, n: 2)
        m["self_bleu"] = ThoughtDiversity.selfBLEU(thoughts, limit: 200)
        m["thought_len"] = Double(flat.map(\.output.spans.actionTokenStart).reduce(0, +)) / n
        let ent = flat.flatMap(\.output.tokenEntropies)
        m["entropy"] = ent.isEmpty ? 0 : Double(ent.reduce(0, +)) / Double(ent.count)
        if config.algo != .sftOnly {
            m["approx_kl"] = s.approxKL; m["clip_frac"] = s.clipFraction
            m["policy_loss"] = s.policyLoss; m["value_loss"] = s.valueLoss
        }
        if s.sftMinibatches > 0 { m["sft_loss"] = s.sftLoss }
        m["grad_norm"] = s.gradNorm
        m["lr"] = Double(optimizer.learningRate)
        m["dagger_size"] = Double(dagger.count)
        m["dagger_labelled"] = Double(dagger.labelledCount)
        if let c = corrections?.counters {
            let a = countersAtRolloutStart
            m["corrector_calls"] = Double(c.calls - a.calls)
            m["cache_hits"] = Double(c.cacheHits - a.cacheHits)
            m["corrector_failures"] = Double(c.failures - a.failures)
            m["corrector_cost"] = c.cost - a.cost
        }
        return m
    }

    /// The thought of an output: the `thoughts` member of a valid answer, else the text before the action.
    static func thoughtText(_ o: PolicyOutput) -> String {
        if let v = try? JSONParser.parse(o.text), let t = v["thoughts"]?.stringValue { return t }
        return String(o.text.prefix(o.spans.actionCharOffset ?? o.text.count))
    }

    private func inspectRows(_ r: Rollout, config uc: PPOUpdateConfig) throws -> [InspectRow] {
        let g = try r.advantages(uc.gae)
        var out: [InspectRow] = []
        for (e, row) in r.steps.enumerated() {
            for (t, s) in row.enumerated() {
                out.append(InspectRow(envIndex: e, episode: s.episode, t: s.t, advantage: g.advantages[e][t], reward: s.reward + s.bonus,
                                      valid: s.valid, action: s.action, verdict: s.review?.verdict, labelled: s.review?.labelled ?? false,
                                      truncation: s.truncation, thought: Trainer.thoughtText(s.output), correction: s.review?.correction))
            }
        }
        return out
    }

    /// Held-out evaluation: fixed seeds, the env's own options without GTR truncation, no corrector; greedy and
    /// sampled at the training temperature.
    private func evaluate(into m: inout UpdateMetrics) throws {
        let policy = model.snapshot()
        var options = config.options
        options.removeValue(forKey: "gtr_truncation")
        var greedy = generationConfig
        greedy.greedy = true
        let g = try AgentEvaluation.run(policy, env: config.env, options: options, episodes: config.evalEpisodes, seed: config.evalSeed,
                                        config: greedy, batch: config.envs)
        m["eval_success_greedy"] = g.successRate; m["eval_return_greedy"] = g.meanReturn; m["eval_valid_greedy"] = g.validRate
        m["eval_legal_greedy"] = g.legalRate
        if let r = g.recognitionRate { m["eval_recognition_greedy"] = r }
        if let r = g.relevanceRate { m["eval_relevance_greedy"] = r }
        m["eval_distinct1_greedy"] = g.distinct1; m["eval_distinct2_greedy"] = g.distinct2
        m["eval_self_bleu_greedy"] = g.selfBLEU; m["eval_thought_len_greedy"] = g.meanThoughtTokens
        m["eval_distinct2_first_greedy"] = g.distinct2First; m["eval_self_bleu_first_greedy"] = g.selfBLEUFirst
        for (kind, e) in g.byTaskType where e.episodes > 0 { m["eval_success_greedy_\(kind)"] = Double(e.successes) / Double(e.episodes) }
        var sampled = generationConfig
        sampled.seed = config.seed &+ 0xE7A1
        let s = try AgentEvaluation.run(policy, env: config.env, options: options, episodes: config.evalEpisodes, seed: config.evalSeed,
                                        config: sampled, batch: config.envs)
        m["eval_success_sampled"] = s.successRate; m["eval_return_sampled"] = s.meanReturn
        m["eval_valid_sampled"] = s.validRate; m["eval_legal_sampled"] = s.legalRate
        if let r = s.recognitionRate { m["eval_recognition_sampled"] = r }
        if let r = s.relevanceRate { m["eval_relevance_sampled"] = r }
        m["eval_distinct2_sampled"] = s.distinct2; m["eval_self_bleu_sampled"] = s.selfBLEU
    }

    // MARK: the corrector at every valid step (RolloutReviewer)

    public func review(_ pending: [PendingStep]) -> [StepReview?] {
        guard let corrections else { return pending.map { _ in nil } }
        var requests: [CorrectionRequest] = [], contexts: [CorrectionContext] = [], which: [Int] = []
        for (i, p) in pending.enumerated() where p.valid {
            // GTR corrects only valid outputs; a request that cannot be built is simply not asked.
            guard let r = try? CorrectionRequest.from(env: p.session.env, output: p.output.text, targetFormula: targets[p.envIndex].formula) else { continue }
            requests.append(r); contexts.append(CorrectionContext(episode: p.session.number, t: p.session.stepCount + 1)); which.append(i)
        }
        var out = [StepReview?](repeating: nil, count: pending.count)
        let replies = requests.isEmpty ? [] : corrections.correct(requests, contexts: contexts)
        var labels = [DAggerSample?](repeating: nil, count: pending.count)
        for (j, reply) in replies.enumerated() {
            let i = which[j], p = pending[i]
            let labelled = targets[p.envIndex].update(with: reply)
            var sample: DAggerSample?
            if labelled, let c = reply.correction, let action = requests[j].agentAction,
               let target = try? ThoughtCloning.target(correction: c, action: action, maskValueOnly: config.maskActionValueOnly ?? false) {
                sample = DAggerSample(row: ThoughtCloning.row(target, input: p.input, policy: model), text: target.text,
                                      source: corrections.corrector is OracleCorrector ? .oracle : .chat,
                                      update: completedUpdates, step: envSteps + i)
            }
            labels[i] = sample
            out[i] = StepReview(verdict: reply.verdict.rawValue, labelled: sample != nil, correction: reply.correction?.serialized(),
                                failure: reply.failure, fromCache: reply.fromCache, answers: reply.answers,
                                targetFormula: reply.targetFormula, possibleSolution: reply.possibleSolution, target: sample?.text)
        }
        // GTR's D keeps every step; unlabelled ones take part in the draw and give no SFT.
        for l in labels { dagger.record(l) }
        return out
    }

    public func truncation(envIndex k: Int, step: EpisodeStep, session: EpisodeSession) -> GTRTruncation.Decision? {
        guard config.truncation, !session.env.actionsAreCommands else { return nil }
        let follows: Bool? = corrections != nil && session.env.tracksTargetFormula
            ? targets[k].allows(currentFormula: session.env.currentFormula ?? "") : nil
        let d = GTRTruncation.apply(reward: step.reward, done: step.done, unsolvable: targets[k].unsolvable, followsTarget: follows)
        return d.reason == nil ? nil : d
    }

    public func dealt(envIndex k: Int) { targets[k].reset() }

    // MARK: human labels

    /// Adds a person's thought for a state to the DAgger buffer (`train label`): the thought (an editable thought or
    /// a whole JSON answer) with `action` appended and masked, as a corrector's correction would be.
    public func addLabel(thought: String, action: String, input: AgentInput) throws -> DAggerSample {
        let target = try ThoughtCloning.target(thought: thought, action: action)
        let sample = DAggerSample(row: ThoughtCloning.row(target, input: input, policy: model), text: target.text, source: .human,
                                  update: completedUpdates, step: envSteps)
        dagger.record(sample)
        return sample
    }

    // MARK: checkpoints

    struct SavedState: Codable {
        var format = "gtr trainer 1"
        var config: TrainerConfig
        var completedUpdates: Int
        var envSteps: Int
        var optimizerSteps: Int
        var rng: [UInt64]
        var daggerOrder: [Int]
        var daggerCursor: Int
        var collector: CollectorState
        var targets: [SavedTarget]
        var window: [WindowEntry]
        var history: [UpdateMetrics]
        var counters: CorrectionCounters
    }
    struct SavedTarget: Codable { var formula: String?; var unsolvable: Bool }

    /// Writes the run's whole state at an update boundary: weights (`model/`), optimizer moments, RNG, the collector's
    /// episodes in progress, target formulas, the DAgger buffer and the config.
    public func save(to dir: URL) throws {
        guard atUpdateBoundary else { throw TrainerError.badCheckpoint("checkpoints are taken between updates (the rollout is half collected)") }
        let fm = FileManager.default
        let tmp = dir.deletingLastPathComponent().appendingPathComponent(".\(dir.lastPathComponent).partial-\(UUID().uuidString.prefix(8))")
        try fm.createDirectory(at: tmp, withIntermediateDirectories: true)
        do {
            let saved = model
            saved.training["trainer"] = "\(config.algo.rawValue) on \(config.env), update \(completedUpdates)/\(config.updates)"
            try saved.save(to: tmp.appendingPathComponent("model"))
            let o = optimizer.state()
            try SafeTensors.write(o.tensors, metadata: o.metadata, to: tmp.appendingPathComponent("optimizer.safetensors").path)
            let order = dagger.samplerState
            let state = SavedState(config: config, completedUpdates: completedUpdates, envSteps: envSteps, optimizerSteps: optimizerSteps,
                                   rng: rng.state, daggerOrder: order.order, daggerCursor: order.cursor, collector: collector.state,
                                   targets: targets.map { SavedTarget(formula: $0.formula, unsolvable: $0.unsolvable) }, window: window,
                                   history: history, counters: corrections?.counters ?? CorrectionCounters())
            let enc = JSONEncoder()
            enc.outputFormatting = [.sortedKeys]
            try enc.encode(state).write(to: tmp.appendingPathComponent("trainer.json"))
            try DAggerFile.write(dagger, to: tmp.appendingPathComponent("dagger.jsonl"))
            if let reference { try reference.save(to: tmp.appendingPathComponent("reference")) }
            if fm.fileExists(atPath: dir.path) { try fm.removeItem(at: dir) }
            try fm.moveItem(at: tmp, to: dir)
        } catch {
            try? fm.removeItem(at: tmp)
            throw error
        }
    }

    /// A run restored from `save(to:)`'s directory; `corrections` as for a new run. Every file is checked and a
    /// problem is one `TrainerError.badCheckpoint` line.
    public init(restoring dir: URL, corrections: CorrectionService? = nil, configure: ((inout TrainerConfig) -> Void)? = nil) throws {
        let stateURL = dir.appendingPathComponent("trainer.json")
        guard FileManager.default.fileExists(atPath: stateURL.path) else {
            throw TrainerError.badCheckpoint("\(dir.path) has no trainer.json (not a training checkpoint)")
        }
        let state: SavedState
        do { state = try JSONDecoder().decode(SavedState.self, from: Data(contentsOf: stateURL)) } catch {
            throw TrainerError.badCheckpoint("\(stateURL.path) is unreadable: \(fileProblem(stateURL, error))")
        }
        guard state.format == "gtr trainer 1" else { throw TrainerError.badCheckpoint("\(stateURL.path): unknown format '\(state.format)'") }
        var cfg = state.config
        configure?(&cfg)
        try cfg.validate()
        config = cfg
        do { model = try PolicyRegistry.loadTrainable(from: dir.appendingPathComponent("model")) } catch {
            throw TrainerError.badCheckpoint("\(dir.path)/model: \(error)")
        }
        optimizer = Adam(model.namedParameters(), learningRate: cfg.lr)
        do {
            let f = try SafeTensors(path: dir.appendingPathComponent("optimizer.safetensors").path)
            try optimizer.loadState(tensors: try f.all(), metadata: f.metadata)
        } catch { throw TrainerError.badCheckpoint("\(dir.path)/optimizer.safetensors: \(error)") }
        guard let r = SeededRNG(state: state.rng) else { throw TrainerError.badCheckpoint("\(stateURL.path): bad RNG state") }
        rng = r
        dagger = try DAggerFile.read(dir.appendingPathComponent("dagger.jsonl"),
                                     into: DAggerBuffer(sampling: cfg.daggerSampling, perMinibatch: cfg.daggerPerMinibatch, mixing: cfg.mixing))
        dagger.samplerState = (state.daggerOrder, state.daggerCursor)
        guard state.collector.envs.count == cfg.envs, state.targets.count == cfg.envs else {
            throw TrainerError.badCheckpoint("\(stateURL.path): \(state.collector.envs.count) envs saved, config says \(cfg.envs)")
        }
        do { collector = try RolloutCollector(env: cfg.env, options: cfg.options, restoring: state.collector) } catch {
            throw TrainerError.badCheckpoint("\(stateURL.path): the episodes in progress do not replay: \(error)")
        }
        completedUpdates = state.completedUpdates; envSteps = state.envSteps; optimizerSteps = state.optimizerSteps
        targets = state.targets.map { TargetFormula(formula: $0.formula, unsolvable: $0.unsolvable) }
        window = state.window; history = state.history
        partial = .init(repeating: [], count: cfg.envs)
        self.corrections = cfg.algo == .ppo ? nil : (corrections ?? CorrectionService(OracleCorrector()))
        if cfg.update.ppo.klCoef != 0 {
            do { reference = try PolicyRegistry.load(from: dir.appendingPathComponent("reference")) } catch {
                throw TrainerError.badCheckpoint("\(dir.path)/reference: \(error)")
            }
        } else { reference = nil }
        collector.reviewer = self
    }
}
