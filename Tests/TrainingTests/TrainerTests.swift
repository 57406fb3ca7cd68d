import Agents
import Correctors
import Environments
import Foundation
import Support
import Testing
@testable import Training

/// The PPO-GTR trainer as a resumable job: every algo on every env, exact pause/resume and checkpoint resume, the
/// DAgger file, human labels, and a learning signal on NumberLine.
@Suite struct TrainerTests {
    /// A tiny policy of `env` built from a few expert answers (briefly trained, or not at all with `epochs: 0`): its
    /// outputs are mostly not valid JSON, which is what the mechanics tests need (LearningSignalTests builds a valid one).
    static func weakPolicy(env: String = "numberline", sftSteps: Int = 8, epochs: Int = 1, dModel: Int = 32, merges: Int = 60,
                           seed: UInt64 = 1) throws -> TrainablePolicy {
        var c = SFTConfig()
        c.env = env; c.steps = sftSteps; c.merges = merges; c.dModel = dModel; c.layers = 1; c.epochs = epochs; c.batch = 8; c.seed = seed
        let data = try ExpertData.collect(env: c.env, steps: c.steps, seed: 7)
        let m = try SFT.makeModel(c, data: data)
        if epochs > 0 { _ = try SFT.train(m, train: data, heldOut: [], config: c) }
        return m
    }

    static func small(_ algo: TrainingAlgorithm = .gtr, env: String = "numberline") -> TrainerConfig {
        var c = TrainerConfig()
        c.algo = algo; c.env = env; c.options = ["time_limit": "8"]; c.updates = 3; c.steps = 3; c.envs = 2; c.maxNewTokens = 40; c.temperature = 1
        c.evalEvery = 2; c.evalEpisodes = 2; c.checkpointEvery = 1; c.lr = 1e-3
        c.update.epochs = 2; c.update.minibatch = 3
        return c
    }

    static func comparable(_ h: [UpdateMetrics]) -> [[String: Double]] {
        h.map { $0.values.filter { !$0.key.hasPrefix("t_") } }
    }

    @Test func pausingBetweenStepsAndHandDrivingGivesTheUnbrokenRunsMetrics() throws {
        let a = try Trainer(config: Self.small(), model: try Self.weakPolicy())
        try a.run()
        let b = try Trainer(config: Self.small(), model: try Self.weakPolicy())
        // Pause after 4 env steps (inside the second rollout), drive the current policy by hand, then go on.
        for _ in 0..<4 { try b.step() }
        #expect(b.rolloutStep == 1 && b.completedUpdates == 1)
        let driven = b.model.snapshot()
        let env = try EnvironmentRegistry.make("numberline")
        try env.reset(seed: 99, options: [:])
        _ = try driven.generate([AgentInput.from(env)], config: GenerationConfig(temperature: 1, maxNewTokens: 20, seed: 5))
        try b.run()
        #expect(a.history.count == 3 && b.history.count == 3)
        #expect(Self.comparable(a.history) == Self.comparable(b.history))
        for m in a.history { #expect(m.values.values.allSatisfy { $0.isFinite }) }
        #expect(a.history[1]["eval_success_greedy"] != nil && a.history[0]["eval_success_greedy"] == nil)
    }

    /// The default agent writes valid Points24 thoughts, so the corrector labels steps and the DAgger buffer, its
    /// sampler and the target formulas all take part in what the checkpoint must restore.
    @Test func aCheckpointResumesExactlyWhereTheRunWas() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gtr-trainer-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let shipped = try #require(DefaultAgent.shipped, "the shipped default agent is part of the source tree")
        var cfg = Self.small(.gtr, env: "points24")
        cfg.options = ["solvable_only": "true"]; cfg.maxNewTokens = 90; cfg.temperature = 0.5; cfg.truncation = true
        cfg.update.epochs = 1; cfg.update.minibatch = 4; cfg.evalEvery = 0
        let a = try Trainer(config: cfg, model: try PolicyRegistry.loadTrainable(from: shipped))
        try a.step(); try a.step()
        #expect(throws: TrainerError.self) { try a.save(to: dir.appendingPathComponent("mid")) }
        try a.step()
        #expect(a.completedUpdates == 1)
        try a.save(to: dir.appendingPathComponent("update-1"))
        try a.run()
        #expect(a.dagger.labelledCount > 0, "the run should have earned corrections")
        let b = try Trainer(restoring: dir.appendingPathComponent("update-1"))
        #expect(b.completedUpdates == 1)
        try b.run()
        #expect(b.dagger.count == a.dagger.count && b.dagger.labelledCount == a.dagger.labelledCount)
        #expect(Self.comparable(a.history) == Self.comparable(b.history))
        // The restored weights are the trained ones: both runs end with the same parameters.
        for ((n, p), (_, q)) in zip(a.model.namedParameters(), b.model.namedParameters()) {
            #expect(p.scalars == q.scalars, "parameter \(n) differs after resume")
        }
    }

    @Test(arguments: TrainingAlgorithm.allCases)
    func everyAlgorithmLogsFiniteMetricsOnEveryCardGame(_ algo: TrainingAlgorithm) throws {
        for env in ["numberline", "points24", "ezpoints", "blackjack"] {
            var c = Self.small(algo, env: env)
            c.updates = 1; c.steps = 2; c.evalEvery = 1; c.evalEpisodes = 1; c.maxNewTokens = 24
            c.truncation = true
            let t = try Trainer(config: c, model: try Self.weakPolicy(env: env, sftSteps: 4, epochs: 0))
            try t.run()
            let m = try #require(t.history.last)
            #expect(m.values.values.allSatisfy { $0.isFinite }, "\(algo) on \(env): \(m.values)")
            for k in ["valid", "legal", "distinct2", "entropy", "grad_norm", "lr", "eval_success_greedy"] { #expect(m[k] != nil, "\(k) missing for \(algo) on \(env)") }
            #expect((m["policy_loss"] != nil) == (algo != .sftOnly))
            #expect((m["corrector_calls"] != nil) == (algo != .ppo))
            #expect(t.dagger.count == (algo == .ppo ? 0 : 2 * c.envs))
        }
    }

    @Test func householdTasksTrainToo() throws {
        var c = Self.small(.gtr, env: "alfworld")
        c.updates = 1; c.steps = 2; c.evalEvery = 0; c.maxNewTokens = 24
        let t = try Trainer(config: c, model: try Self.weakPolicy(env: "numberline", sftSteps: 4, epochs: 0))
        try t.run()
        #expect(t.history.count == 1 && t.history[0].values.values.allSatisfy { $0.isFinite })
    }

    @Test func theDAggerFileRoundTripsEveryStepAndItsFrame() throws {
        var c = Self.small(.gtr, env: "points24")
        c.updates = 1; c.steps = 3; c.evalEvery = 0; c.maxNewTokens = 60
        let t = try Trainer(config: c, model: try Self.weakPolicy(env: "points24", sftSteps: 16, epochs: 2))
        try t.run()
        let env = try EnvironmentRegistry.make("points24")
        try env.reset(seed: 3, options: [:])
        _ = try t.addLabel(thought: "{\"cards\": [1, 2, 3, 4], \"formula\": \"\", \"thoughts\": \"say \\\"action\\\": here\", ", action: "1",
                           input: AgentInput.from(env))
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("gtr-dagger-\(UUID().uuidString).jsonl")
        defer { try? FileManager.default.removeItem(at: url) }
        try DAggerFile.write(t.dagger, to: url)
        let back = try DAggerFile.read(url, into: DAggerBuffer())
        #expect(back.count == t.dagger.count && back.labelledCount == t.dagger.labelledCount)
        #expect(back.sources[.human] == 1)
        for (x, y) in zip(t.dagger.entries, back.entries) {
            #expect(x?.row.input.image == y?.row.input.image && x?.row.output == y?.row.output && x?.row.weights == y?.row.weights)
        }
        // The human label masks exactly the action member.
        let h = try #require(back.entries.last??.row)
        #expect(h.weights.contains(0) && h.weights.first == 1)
        #expect(throws: TrainerError.self) { try DAggerFile.read(url.appendingPathExtension("missing"), into: DAggerBuffer()) }
    }

    @Test func badConfigsAreRefusedWithTheOptionNamed() throws {
        var c = Self.small()
        c.envs = 0
        #expect(throws: TrainerError.badConfig("envs= must be between 1 and 64")) { try c.validate() }
        c = Self.small(); c.lr = -1
        #expect(throws: TrainerError.badConfig("lr= must be a positive number")) { try c.validate() }
    }
}
