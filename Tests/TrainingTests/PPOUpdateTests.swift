import Agents
import Environments
import Foundation
import Support
import Tensors
import Testing
@testable import Training

/// One PPO-GTR update over a real rollout of a tiny policy.
@Suite struct PPOUpdateTests {
    @Test func anUpdateMovesLogProbsWithTheAdvantageAndMixesInClonedThoughts() throws {
        var c = SFTConfig()
        c.env = "numberline"; c.steps = 8; c.merges = 60; c.dModel = 32; c.layers = 1
        let data = try ExpertData.collect(env: c.env, steps: c.steps, seed: 7)
        let model = try SFT.makeModel(c, data: data)
        var u = PPOUpdateConfig()
        u.temperature = 1; u.minibatch = 4; u.epochs = 2; u.lambda = 0.5
        let collector = try RolloutCollector(env: "numberline", options: ["time_limit": "3"], count: 2, seed: 3)
        let rollout = try collector.collect(model, steps: 4, config: GenerationConfig(temperature: 1, maxNewTokens: 6, seed: 5), lambda: u.lambda)
        let flat = rollout.steps.flatMap { $0 }
        let adv = GAE.normalize(try rollout.advantages().flatAdvantages)
        func logProbs() throws -> [Float] {
            let rows = flat.map { LambdaSplit.row(input: $0.input, output: $0.output, lambda: u.lambda) }
            return try Autograd.noGrad { try model.score(rows, temperature: 1) }.weighted.scalars
        }
        let before = try logProbs()
        // The old log-probs the update compares against are the generation's own (scored at T=1).
        for (k, s) in flat.enumerated() { #expect(abs(Double(before[k]) - LambdaSplit.oldLogProb(s.output, lambda: u.lambda)) < 2e-3) }

        // One expert answer as a labelled DAgger sample (thought cloning).
        var buffer = DAggerBuffer()
        let e = data[0]
        let target = try ThoughtCloning.target(thought: e.answer.text, action: e.answer.action)
        buffer.record(DAggerSample(row: ThoughtCloning.row(target, input: e.input, policy: model), text: target.text, source: .expert, update: 0, step: 0))
        let opt = Adam.adamW(model.namedParameters(), learningRate: 3e-3, weightDecay: 0)
        var rng = SeededRNG(seed: 1)
        let stats = try PPOUpdate.run(model, optimizer: opt, rollout: rollout, config: u, dagger: &buffer, rng: &rng)
        #expect(stats.finite)
        #expect(stats.minibatches == 2 * ((flat.count + 3) / 4) && stats.optimizerSteps == stats.minibatches)
        #expect(stats.sftSamples == stats.minibatches)

        let after = try logProbs()
        let best = adv.indices.max { adv[$0] < adv[$1] }!, worst = adv.indices.min { adv[$0] < adv[$1] }!
        #expect(after[best] > before[best], "the best step's log-prob rises: \(before[best]) → \(after[best])")
        #expect(after[worst] < before[worst], "the worst step's log-prob falls: \(before[worst]) → \(after[worst])")
    }
}
