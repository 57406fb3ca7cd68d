import Agents
import Environments
import Foundation
import Support
import Testing
@testable import Training

/// Acceptance: a PPO run (`algo=ppo`: outcome reward + GTR's format bonus, no corrector) on NumberLine from a weak
/// SFT init raises held-out success. Every seed is fixed; nothing is asserted about wall-clock time.
///
/// The weak init reads the numbers and writes valid JSON but chooses its action badly: it is SFT'd on expert answers
/// in which three quarters of the "-" answers were relabelled "+" (thoughts untouched), so greedy decoding says "+"
/// everywhere and only solves the episodes whose target lies above the start. PPO has to learn from reward alone
/// that the action should follow the thought.
///
/// Measured on the 2-core dev machine (this seed): held-out greedy success 0.531 → 1.000 and sampled (T = 0.5)
/// 0.531 → 0.813 after 10 updates, greedy valid JSON 1.0 throughout; the test took 49–59 s alone (SFT ≈ 17 s,
/// PPO ≈ 30 s). Over SFT seeds 1–3 × trainer seeds 1 and 3 greedy went from 0.531 to 0.906–1.000 and sampled
/// rose by 0.125–0.406 in every run.
@Suite struct LearningSignalTests {
    static let options = ["max_position": "3"]

    /// SFT on expert NumberLine answers with `flip` of the "-" answers relabelled "+".
    static func biasedPolicy(flip: Double = 0.75, seed: UInt64 = 1) throws -> TrainablePolicy {
        var c = SFTConfig()
        c.env = "numberline"; c.steps = 600; c.epochs = 2; c.batch = 4; c.learningRate = 3e-3
        c.merges = 250; c.dModel = 32; c.layers = 1; c.seed = seed
        var data = try ExpertData.collect(env: c.env, steps: c.steps, seed: 7, options: options)
        var rng = SeededRNG(seed: 42)
        var relabelled = 0
        for i in data.indices where data[i].answer.action == "-" && rng.unit() < flip {
            let text = data[i].answer.text.replacingOccurrences(of: "\"action\": \"-\"", with: "\"action\": \"+\"")
            try #require(text != data[i].answer.text, "the expert's action member is not where the relabelling expects it")
            data[i].answer.text = text; data[i].answer.action = "+"
            relabelled += 1
        }
        try #require(relabelled > data.count / 5)
        let m = try SFT.makeModel(c, data: data)
        _ = try SFT.train(m, train: data, heldOut: [], config: c)
        return m
    }

    @Test func ppoFromAWeakSFTInitRaisesHeldOutSuccessOnNumberLine() throws {
        var c = TrainerConfig()
        c.algo = .ppo; c.env = "numberline"; c.options = Self.options.merging(["time_limit": "10"]) { $1 }; c.seed = 1
        c.updates = 10; c.envs = 8; c.steps = 4
        c.lr = 3e-4; c.cosineLR = false; c.temperature = 0.5; c.maxNewTokens = 40
        c.update.epochs = 4; c.update.minibatch = 8
        c.evalEvery = c.updates; c.evalEpisodes = 32; c.evalSeed = 1_000_000
        let t = try Trainer(config: c, model: try Self.biasedPolicy())

        let before = try #require(try t.initialEvaluation())
        var after: UpdateMetrics?
        while !t.isFinished { if case let .updated(m) = try t.step() { after = m } }
        let end = try #require(after)
        let g0 = try #require(before["eval_success_greedy"]), g1 = try #require(end["eval_success_greedy"])
        let s0 = try #require(before["eval_success_sampled"]), s1 = try #require(end["eval_success_sampled"])
        print("NumberLine PPO learning signal: greedy \(g0) → \(g1), sampled \(s0) → \(s1), valid \(before["eval_valid_greedy"] ?? -1) → \(end["eval_valid_greedy"] ?? -1)")

        // The init is weak in its choices, not in its format.
        #expect(g0 <= 0.6)
        #expect(before["eval_valid_greedy"] == 1)
        // The learning signal: a clear gain on 32 held-out episodes (greedy), and sampled success up too.
        #expect(g1 >= g0 + 0.15, "greedy held-out success \(g0) → \(g1)")
        #expect(s1 > s0, "sampled held-out success \(s0) → \(s1)")
        #expect(end.update == c.updates && (end["eval_valid_greedy"] ?? 0) >= 0.9)
    }
}
