import Agents
import Environments
import Episodes
import Foundation

/// What a corrector said about one rollout step (the trainer's review; nil when no corrector was asked: invalid
/// output, `algo=ppo`).
public struct StepReview: Sendable, Equatable {
    /// YES / NO / NONE, as the ledger writes it.
    public var verdict: String
    /// True when the step earned an SFT label (a correction of a wrong thought).
    public var labelled: Bool
    /// The corrected thought (compact JSON) when there is one.
    public var correction: String?
    /// Why there is no correction (corrector failure), or nil.
    public var failure: String?
    public var fromCache: Bool
    /// The corrector's answers to GTR's questions, in order.
    public var answers: [String] = []
    /// The episode's target formula as the corrector gave it, and whether it judged the deal solvable (card games).
    public var targetFormula: String? = nil
    public var possibleSolution: Bool? = nil
    /// The thought-cloning target put in the DAgger buffer (the corrected thought with the agent's action), when
    /// the step was labelled.
    public var target: String? = nil
    public init(verdict: String, labelled: Bool, correction: String? = nil, failure: String? = nil, fromCache: Bool = false,
                answers: [String] = [], targetFormula: String? = nil, possibleSolution: Bool? = nil, target: String? = nil) {
        self.verdict = verdict; self.labelled = labelled; self.correction = correction; self.failure = failure; self.fromCache = fromCache
        self.answers = answers; self.targetFormula = targetFormula; self.possibleSolution = possibleSolution; self.target = target
    }
}

/// One environment step of a rollout with everything PPO and thought cloning need, stored *at the step* (GTR
/// re-used the last prompt for every step of a batch; digest §11): the frame and this step's own prompt, the
/// generated tokens with their scored and behaviour log-probs, the value, the reward, done and the format check.
public struct RolloutStep: Sendable {
    /// Which of the E parallel environments took the step.
    public var envIndex: Int
    public var episode: Int
    /// The seed the episode was dealt with (the env replays from it and the outputs: `RolloutFile`).
    public var seed: UInt64?
    /// Step count within the episode after this step.
    public var t: Int
    public var input: AgentInput
    public var output: PolicyOutput
    /// λ·log π(thought) + log π(action) of the sampled tokens under the scored (tempered) policy.
    public var weightedLogProb: Float
    /// The reward stored for training: the env's, or GTR's truncation penalty when the truncation rules ended the
    /// episode here (the format bonus is kept apart, in `bonus`).
    public var reward: Double
    /// GTR's +5 when the output is strict JSON with the env's keys and ended by EOS, else 0.
    public var bonus: Double
    /// The episode ended here (by the env, or by GTR's truncation: GAE's dones are the overridden ones, §11 bug 10).
    public var done: Bool
    public var valid: Bool
    /// The env accepted the parsed action as a legal move.
    public var legal: Bool
    /// The output named no single action, so the env's `invalid=` rule played the step.
    public var invalid: Bool = false
    /// Whether the thought read the state right (card recognition), where the env can tell.
    public var recognised: Bool?
    /// Whether the thought names the dealt cards and a formula consistent with the state (`StateRelevance`), where
    /// the env can tell.
    public var relevant: Bool? = nil
    /// The executed action, or `(invalid)`.
    public var action: String
    /// The corrector's review of the step, when one was asked.
    public var review: StepReview?
    /// Why GTR's truncation rules ended the episode here, or nil.
    public var truncation: String?
}

/// T steps of E environments: `steps[e][t]`, and the value of each env's state after its last step.
public struct Rollout: Sendable {
    public var steps: [[RolloutStep]]
    public var lastValues: [Float]
    /// Episodes that ended inside the rollout: (return, success).
    public var finished: [(return: Double, success: Bool)]

    public init(steps: [[RolloutStep]], lastValues: [Float], finished: [(return: Double, success: Bool)]) {
        self.steps = steps; self.lastValues = lastValues; self.finished = finished
    }

    /// Advantages and returns by GAE over the stored rewards, values and dones, with the format bonus added after
    /// the recursion as GTR does.
    public func advantages(_ config: GAE.Config = GAE.Config()) throws -> GAE.Result {
        try GAE.compute(rewards: steps.map { $0.map(\.reward) }, values: steps.map { $0.map { Double($0.output.value) } },
                        dones: steps.map { $0.map(\.done) }, lastValues: lastValues.map(Double.init),
                        bonus: steps.map { $0.map(\.bonus) }, config: config)
    }
}

/// One output of a batched step before it is applied: the env still shows the state the agent saw.
public struct PendingStep {
    public var envIndex: Int
    public var session: EpisodeSession
    public var input: AgentInput
    public var output: PolicyOutput
    public var valid: Bool
}

/// What a trainer does around each batched step: judge the outputs before they are applied (the corrector), and
/// decide after each step whether GTR's truncation ends the episode.
public protocol RolloutReviewer: AnyObject {
    /// One review per pending step (nil: not reviewed), in order.
    func review(_ pending: [PendingStep]) -> [StepReview?]
    /// After env `envIndex` applied its step: GTR's truncation decision, or nil to keep the env's own reward and done.
    func truncation(envIndex: Int, step: EpisodeStep, session: EpisodeSession) -> GTRTruncation.Decision?
    /// A new episode was dealt to env `envIndex` (the target formula goes back to NOT DETERMINED: §11 bug 5).
    func dealt(envIndex: Int)
}

/// Where a collector stands, for checkpoints: the episodes in progress are rebuilt by replaying their outputs from
/// their seeds (the envs are deterministic given seed and actions), so a resumed run continues the same episodes.
public struct CollectorState: Codable, Sendable, Equatable {
    public struct EnvState: Codable, Sendable, Equatable {
        public var seed: UInt64
        public var number: Int
        /// The model outputs applied so far in this episode, in order.
        public var outputs: [String]
    }
    public var nextSeed: UInt64
    public var episodeCounter: Int
    public var generations: UInt64
    public var envs: [EnvState]
}

/// Plays E environments side by side with one batched generation per step, through `EpisodeSession`s (the one
/// episode path), dealing a new seeded episode whenever one ends. Collecting can go on across rollouts: the
/// episodes in progress carry over, as PPO's envs do.
public final class RolloutCollector {
    public let envName: String
    public let options: [String: String]
    public private(set) var sessions: [EpisodeSession] = []
    private var applied: [[String]] = []
    private var nextSeed: UInt64
    private var episodeCounter = 0
    private var generations: UInt64 = 0
    public weak var reviewer: RolloutReviewer?

    /// `count` environments of `envName`, episode k dealt with seed `seed + k`.
    public init(env envName: String, options: [String: String] = [:], count: Int, seed: UInt64) throws {
        precondition(count >= 1, "a rollout needs at least one environment")
        self.envName = envName; self.options = options; nextSeed = seed
        for _ in 0..<count { sessions.append(try deal()); applied.append([]) }
    }

    /// A collector continuing from `state` (the episodes in progress replayed from their seeds).
    public init(env envName: String, options: [String: String] = [:], restoring state: CollectorState) throws {
        self.envName = envName; self.options = options
        nextSeed = state.nextSeed; episodeCounter = state.episodeCounter; generations = state.generations
        for e in state.envs {
            let env = try EnvironmentRegistry.make(envName)
            (env as? EnvironmentBase)?.renderFrames = false
            let s = try EpisodeSession(env: env, number: e.number, seed: e.seed, options: options)
            for text in e.outputs { try s.apply(.modelOutput(text), source: .agent) }
            sessions.append(s); applied.append(e.outputs)
        }
    }

    public var state: CollectorState {
        CollectorState(nextSeed: nextSeed, episodeCounter: episodeCounter, generations: generations,
                       envs: zip(sessions, applied).map { CollectorState.EnvState(seed: $0.seed ?? 0, number: $0.number, outputs: $1) })
    }

    private func deal() throws -> EpisodeSession {
        let e = try EnvironmentRegistry.make(envName)
        (e as? EnvironmentBase)?.renderFrames = false
        episodeCounter += 1
        defer { nextSeed += 1 }
        return try EpisodeSession(env: e, number: episodeCounter, seed: nextSeed, options: options)
    }

    /// The agent's input for env k's current state (its frame and its own prompt).
    public func input(_ k: Int) -> AgentInput { AgentInput(image: sessions[k].env.frame, prompt: sessions[k].env.prompt(thoughts: true)) }

    /// Generates once for all E envs and applies the outputs: one step of every env (generation k of this collector
    /// samples with seed `config.seed + k·7919`, so a rollout is reproducible). Returns the E steps and the
    /// episodes that ended.
    public func step(_ policy: Policy, config: GenerationConfig, lambda: Float, bonus: FormatBonus? = FormatBonus())
        throws -> (steps: [RolloutStep], finished: [(return: Double, success: Bool)]) {
        let inputs = sessions.indices.map(input)
        var g = config
        g.seed = config.seed &+ generations &* 7919
        generations += 1
        let outputs = try policy.generate(inputs, config: g)
        let pending = outputs.enumerated().map { k, o in
            PendingStep(envIndex: k, session: sessions[k], input: inputs[k], output: o,
                        valid: bonus?.isValid(o.text, finished: o.finished, env: sessions[k].env) ?? sessions[k].env.strictParse(o.text).valid)
        }
        let reviews = reviewer?.review(pending) ?? [StepReview?](repeating: nil, count: pending.count)
        var out: [RolloutStep] = []
        var finished: [(Double, Bool)] = []
        for p in pending {
            let k = p.envIndex, ep = sessions[k], o = p.output
            let json = ep.env.strictParse(o.text).json
            let recognised = StateFacts.of(ep.env).recognised(by: json)
            let thought = json?["thoughts"]?.stringValue ?? String(o.text.prefix(o.spans.actionCharOffset ?? o.text.count))
            let relevant = ep.env.stateRelevance(of: thought)?.relevant
            let s = try ep.apply(.modelOutput(o.text), source: .agent)
            applied[k].append(o.text)
            var reward = s.reward, done = s.done, truncation: String?
            if !s.done, let d = reviewer?.truncation(envIndex: k, step: s, session: ep) {
                reward = d.reward; done = d.done; truncation = d.reason?.rawValue
            }
            out.append(RolloutStep(envIndex: k, episode: ep.number, seed: ep.seed, t: s.t, input: p.input, output: o,
                                   weightedLogProb: o.weightedLogProb(lambda: lambda), reward: reward,
                                   bonus: bonus.map { p.valid ? $0.amount : 0 } ?? 0, done: done, valid: p.valid,
                                   legal: s.parsed?.legal == true, invalid: s.invalid, recognised: recognised, relevant: relevant, action: s.action,
                                   review: reviews[k], truncation: truncation))
            if done {
                let ret = ep.episodeReturn - s.reward + reward
                finished.append((ret, s.done && ep.succeeded && truncation == nil))
                ep.abandon()
                sessions[k] = try deal(); applied[k] = []
                reviewer?.dealt(envIndex: k)
            }
        }
        return (out, finished.map { (return: $0.0, success: $0.1) })
    }

    /// V(s) of every env's current state: what GAE bootstraps from at the end of a rollout.
    public func values(_ policy: Policy) throws -> [Float] {
        try sessions.indices.map { try policy.value(input($0)) }
    }

    /// Collects `steps` steps of every environment with `policy`.
    public func collect(_ policy: Policy, steps: Int, config: GenerationConfig, lambda: Float,
                        bonus: FormatBonus? = FormatBonus(), shouldStop: () -> Bool = { false }) throws -> Rollout {
        var out = [[RolloutStep]](repeating: [], count: sessions.count)
        var finished: [(return: Double, success: Bool)] = []
        for _ in 0..<steps {
            if shouldStop() { break }
            let r = try step(policy, config: config, lambda: lambda, bonus: bonus)
            for s in r.steps { out[s.envIndex].append(s) }
            finished += r.finished
        }
        return Rollout(steps: out, lastValues: try values(policy), finished: finished)
    }
}
