import Foundation

/// Which objective a run trains (digest §1–§5).
public enum TrainingAlgorithm: String, Sendable, Codable, CaseIterable {
    /// PPO on the actions plus thought cloning from the corrector's corrections (GTR).
    case gtr
    /// RL4VLM: outcome reward only, no corrector, no SFT.
    case ppo
    /// Thought cloning from corrections only, no PPO loss.
    case sftOnly = "sft-only"
}

/// Everything that defines a PPO-GTR run; saved with every checkpoint, so a resumed run is the same run.
public struct TrainerConfig: Sendable, Codable, Equatable {
    public var algo = TrainingAlgorithm.gtr
    public var env = "points24"
    /// Reset options of the training envs (`time_limit`, `gtr_truncation`, …).
    public var options: [String: String] = [:]
    /// PPO updates in the run.
    public var updates = 10
    /// Steps per env per rollout (GTR: 256 with 4 envs on a GPU; a CPU collects less).
    public var steps = 16
    /// Parallel environments E, one batched generation per step.
    public var envs = 8
    public var seed: UInt64 = 1
    /// λ: weight of thought tokens in the action log-prob.
    public var lambda: Float = 0.5
    /// Peak learning rate (Adam), cosine-annealed to `lrFloor` over the run's optimizer steps as GTR.
    public var lr: Float = 1e-4
    public var lrFloor: Float = 1e-6
    public var cosineLR = true
    /// Sampling temperature of the rollouts (PPO scores at the same temperature).
    public var temperature: Float = 0.2
    public var maxNewTokens = 160
    /// The corrector asked at every valid step (`gtr`, `sft-only`); a name the caller resolves.
    public var corrector = "oracle"
    /// GTR's early truncation of card-game episodes (digest §5.4); off by default.
    public var truncation = false
    /// GTR's +5 for valid JSON with the env's keys (0: off).
    public var formatBonus = 5.0
    /// Evaluate every N updates (0: never): fixed seeds, no truncation, no corrector, greedy and sampled.
    public var evalEvery = 5
    public var evalEpisodes = 16
    public var evalSeed: UInt64 = 1_000_000
    /// Checkpoint every N updates (0: only at the start and the end).
    public var checkpointEvery = 5
    /// Episodes in the rolling training success/return (GTR logs a rolling window).
    public var rollingWindow = 100
    public var update = PPOUpdateConfig()
    public var daggerSampling = DAggerBuffer.Sampling.permutation
    public var daggerPerMinibatch = 1
    public var mixing = DAggerBuffer.Mixing()
    /// Thought cloning masks only the action's value instead of GTR's whole `"action": …` member (nil: GTR's).
    public var maskActionValueOnly: Bool? = nil

    public init() {}

    /// Checks values a run cannot start with; the message names the option.
    public func validate() throws {
        func bad(_ m: String) -> TrainerError { .badConfig(m) }
        if updates < 1 { throw bad("updates= must be at least 1") }
        if steps < 1 { throw bad("steps= must be at least 1") }
        if envs < 1 || envs > 64 { throw bad("envs= must be between 1 and 64") }
        if !(lr > 0) || !lr.isFinite { throw bad("lr= must be a positive number") }
        if !(lambda >= 0 && lambda <= 1) { throw bad("lambda= must be between 0 and 1") }
        if !(temperature > 0) || !temperature.isFinite { throw bad("temperature= must be positive") }
        if maxNewTokens < 1 { throw bad("max_tokens= must be at least 1") }
        if update.epochs < 1 { throw bad("epochs= must be at least 1") }
        if update.minibatch < 1 { throw bad("minibatch= must be at least 1") }
        if update.accumulation < 1 { throw bad("accumulation= must be at least 1") }
        if evalEvery < 0 || evalEpisodes < 1 { throw bad("eval_every= must be ≥ 0 and eval_episodes= ≥ 1") }
        if checkpointEvery < 0 { throw bad("checkpoint_every= must be ≥ 0") }
    }

    /// Adam steps the whole run takes (what the cosine schedule spans).
    public var totalOptimizerSteps: Int {
        let rows = steps * envs
        let minibatches = (rows + update.minibatch - 1) / update.minibatch
        return max(1, updates * update.epochs * ((minibatches + update.accumulation - 1) / update.accumulation))
    }
}

public enum TrainerError: Error, CustomStringConvertible, Equatable {
    case badConfig(String)
    case badCheckpoint(String)
    case finished
    public var description: String {
        switch self {
        case let .badConfig(m): return m
        case let .badCheckpoint(m): return "checkpoint: \(m)"
        case .finished: return "the run is finished"
        }
    }
}
