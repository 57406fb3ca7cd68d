import Environments
import Foundation
import Testing
@testable import Agents
@testable import Training

@Suite(.serialized) struct SFTTests {
    /// A small SFT run on NumberLine expert steps learns to read both numbers from the frame and pick the action.
    @Test func smallSFTReachesHighActionAccuracy() throws {
        var c = SFTConfig()
        c.env = "numberline"; c.steps = 600; c.epochs = 6; c.batch = 16; c.learningRate = 3e-3; c.merges = 200
        c.dModel = 64; c.layers = 2
        let train = try ExpertData.collect(env: c.env, steps: c.steps, seed: 100)
        let held = try ExpertData.collect(env: c.env, steps: 60, seed: 900)
        let m = try SFT.makeModel(c, data: train)
        let r = try SFT.train(m, train: train, heldOut: held, config: c)
        #expect(r.losses.last! < r.losses.first! / 4)
        #expect(r.metrics.validJSON > 0.9)
        #expect(r.metrics.actionAccuracy > 0.9, "\(r.metrics.summary)")
        let ev = try AgentEvaluation.run(m, env: "numberline", options: [:], episodes: 20, seed: 5, config: GenerationConfig(greedy: true))
        #expect(ev.successRate > 0.8, "\(ev.lines)")
    }

    /// `shouldStop` ends the run between optimizer steps; the held-out evaluation is skipped and the result says so.
    @Test func stoppingEarlyIsReported() throws {
        var c = SFTConfig()
        c.env = "numberline"; c.steps = 32; c.epochs = 2; c.batch = 8; c.merges = 60; c.dModel = 32; c.layers = 1
        let train = try ExpertData.collect(env: c.env, steps: c.steps, seed: 7)
        let held = try ExpertData.collect(env: c.env, steps: 4, seed: 907)
        let m = try SFT.makeModel(c, data: train)
        #expect(m.kind == "tiny-vlm")
        var steps = 0
        let r = try SFT.train(m, train: train, heldOut: held, config: c, progress: { steps = $0.step }, shouldStop: { steps == 3 })
        #expect(r.stopped && r.losses.count == 3 && r.totalSteps == 8 && r.metrics.samples == 0)
        let full = try SFT.train(m, train: train, heldOut: held, config: c)
        #expect(!full.stopped && full.losses.count == 8 && full.metrics.samples == 4)
        c.kind = "no-such-kind"
        #expect(throws: AgentError.self) { try SFT.makeModel(c, data: train) }
    }
}
