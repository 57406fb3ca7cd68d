import Agents
import Environments
import Episodes
import Foundation

/// One environment step of a rollout with everything PPO and thought cloning need, stored *at the step* (GTR
/// re-used the last prompt for every step of a batch; digest §11): the frame and this step's own prompt, the
/// generated tokens with their scored and behaviour log-probs, the value, the reward, done and the format check.
public struct RolloutStep: Sendable {
    /// Which of the E parallel environments took the step.
    public var envIndex: Int
    public var episode: Int
    /// Step count within the episode after this step.
    public var t: Int
    public var input: AgentInput
    public var output: PolicyOutput
    /// λ·log π(thought) + log π(action) of the sampled tokens under the scored (tempered) policy.
    public var weightedLogProb: Float
    /// The env's reward for the step (the format bonus is kept apart, in `bonus`).
    public var reward: Double
    /// GTR's +5 when the output is strict JSON with the env's keys and ended by EOS, else 0.
    public var bonus: Double
    public var done: Bool
    public var valid: Bool
    /// The executed action, or `(invalid)`.
    public var action: String
}

/// T steps of E environments: `steps[e][t]`, and the value of each env's state after its last step.
public struct Rollout: Sendable {
    public var steps: [[RolloutStep]]
    public var lastValues: [Float]
    /// Episodes that ended inside the rollout: (return, success).
    public var finished: [(return: Double, success: Bool)]

    /// Advantages and returns by GAE over the stored rewards, values and dones, with the format bonus added after
    /// the recursion as GTR does.
    public func advantages(_ config: GAE.Config = GAE.Config()) throws -> GAE.Result {
        try GAE.compute(rewards: steps.map { $0.map(\.reward) }, values: steps.map { $0.map { Double($0.output.value) } },
                        dones: steps.map { $0.map(\.done) }, lastValues: lastValues.map(Double.init),
                        bonus: steps.map { $0.map(\.bonus) }, config: config)
    }
}

/// Plays E environments side by side with one batched generation per step, through `EpisodeSession`s (the one
/// episode path), dealing a new seeded episode whenever one ends. Collecting can go on across rollouts: the
/// episodes in progress carry over, as PPO's envs do.
public final class RolloutCollector {
    public let envName: String
    public let options: [String: String]
    public private(set) var sessions: [EpisodeSession] = []
    private var nextSeed: UInt64
    private var episodeCounter = 0
    private var generations: UInt64 = 0
    private let baseSeed: UInt64

    /// `count` environments of `envName`, episode k dealt with seed `seed + k`.
    public init(env envName: String, options: [String: String] = [:], count: Int, seed: UInt64) throws {
        precondition(count >= 1, "a rollout needs at least one environment")
        self.envName = envName; self.options = options; nextSeed = seed; baseSeed = seed
        for _ in 0..<count { sessions.append(try deal()) }
    }

    private func deal() throws -> EpisodeSession {
        let e = try EnvironmentRegistry.make(envName)
        (e as? EnvironmentBase)?.renderFrames = false
        episodeCounter += 1
        defer { nextSeed += 1 }
        return try EpisodeSession(env: e, number: episodeCounter, seed: nextSeed, options: options)
    }

    /// Collects `steps` steps of every environment with `policy`, sampling with `config` (generation k of this
    /// collector uses seed `config.seed + k·7919`, so a rollout is reproducible).
    public func collect(_ policy: Policy, steps: Int, config: GenerationConfig, lambda: Float,
                        bonus: FormatBonus? = FormatBonus(), shouldStop: () -> Bool = { false }) throws -> Rollout {
        var out = [[RolloutStep]](repeating: [], count: sessions.count)
        var finished: [(Double, Bool)] = []
        for _ in 0..<steps {
            if shouldStop() { break }
            let inputs = sessions.map { AgentInput(image: $0.env.frame, prompt: $0.env.prompt(thoughts: true)) }
            var g = config
            g.seed = config.seed &+ generations &* 7919
            generations += 1
            let outputs = try policy.generate(inputs, config: g)
            for (k, o) in outputs.enumerated() {
                let ep = sessions[k]
                let valid = bonus?.isValid(o.text, finished: o.finished, env: ep.env) ?? ep.env.strictParse(o.text).valid
                let s = try ep.apply(.modelOutput(o.text), source: .agent)
                out[k].append(RolloutStep(envIndex: k, episode: ep.number, t: s.t, input: inputs[k], output: o,
                                          weightedLogProb: o.weightedLogProb(lambda: lambda), reward: s.reward,
                                          bonus: bonus.map { valid ? $0.amount : 0 } ?? 0, done: s.done, valid: valid, action: s.action))
                if s.done {
                    finished.append((ep.episodeReturn, ep.succeeded))
                    sessions[k] = try deal()
                }
            }
        }
        // V(s_T) for bootstrapping: the value of each env's current state (ignored by GAE after a done step).
        let last = try sessions.map { try policy.value(AgentInput(image: $0.env.frame, prompt: $0.env.prompt(thoughts: true))) }
        return Rollout(steps: out, lastValues: last, finished: finished.map { (return: $0.0, success: $0.1) })
    }
}
