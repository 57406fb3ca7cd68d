import Agents
import Foundation
import Support
import Tensors

/// How one PPO-GTR update runs over a collected rollout (RL4VLM/GTR's `ppo.update`): `epochs` passes over the
/// rollout's steps in shuffled minibatches; each minibatch re-scores exactly the sampled tokens under the step's own
/// prompt (λ-weighted, at the sampling temperature), takes PPO's clipped loss, adds the SFT loss of DAgger samples
/// (thought cloning, weight `sftWeight`; 0 or no buffer = RL4VLM), clips the gradient norm and steps.
public struct PPOUpdateConfig: Sendable, Equatable, Codable {
    public var epochs = 4
    /// Rows per minibatch (GTR: 1 env step per minibatch on a GPU; a CPU batches a few).
    public var minibatch = 8
    /// Minibatches whose gradients are summed before one optimizer step.
    public var accumulation = 1
    public var maxGradNorm: Float = 1
    /// λ: weight of thought tokens in the log-prob (0.5 for the card games as GTR).
    public var lambda: Float = 0.5
    /// The temperature the rollout sampled with: PPO scores softmax(logits / T), as generation reported.
    public var temperature: Float = 0.2
    public var normalizeAdvantages = true
    /// Weight of the thought-cloning loss in each minibatch (0: PPO only).
    public var sftWeight: Float = 1
    /// Weight of the PPO loss (0: `algo=sft-only`, thought cloning alone; the rollout is then not re-scored).
    public var ppoWeight: Float = 1
    public var ppo = PPOConfig()
    public var gae = GAE.Config()
    public init() {}
}

/// What an update measured, averaged over its minibatches.
public struct PPOUpdateStats: Sendable, Equatable {
    public var minibatches = 0
    public var optimizerSteps = 0
    public var policyLoss = 0.0
    public var valueLoss = 0.0
    public var sftLoss = 0.0
    public var sftSamples = 0
    /// Minibatches that carried a thought-cloning sample (`sftLoss` is their mean).
    public var sftMinibatches = 0
    public var approxKL = 0.0
    public var clipFraction = 0.0
    public var gradNorm = 0.0
    /// Mean per-token entropy (nats) of the re-scored policy on the rollout's tokens.
    public var entropy = 0.0
    /// Samples the ratio guard took out of the policy gradient.
    public var guarded = 0
    /// Minibatches skipped because their loss was not finite (GTR exits or skips; the trainer skips and counts).
    public var skipped = 0
    public var finite: Bool { [policyLoss, valueLoss, sftLoss, approxKL, gradNorm].allSatisfy(\.isFinite) }
}

public enum PPOUpdate {
    /// Runs one update of `model` on `rollout`. `dagger` supplies the thought-cloning samples mixed into each
    /// minibatch (drawn with `rng`), `update`/`totalUpdates` anneal its weight when the buffer asks for it.
    public static func run(_ model: TrainablePolicy, optimizer: Optimizer, rollout: Rollout, config c: PPOUpdateConfig,
                           dagger: inout DAggerBuffer, update: Int = 0, totalUpdates: Int = 1, rng: inout SeededRNG,
                           reference: Policy? = nil, beforeStep: () -> Void = {},
                           shouldStop: () -> Bool = { false }) throws -> PPOUpdateStats {
        let flat = rollout.steps.flatMap { $0 }
        guard !flat.isEmpty else { return PPOUpdateStats() }
        let gae = try rollout.advantages(c.gae)
        let advantages = c.normalizeAdvantages ? GAE.normalize(gae.flatAdvantages) : gae.flatAdvantages
        let returns = gae.flatReturns
        let rows = try model.prepare(flat.map { LambdaSplit.row(input: $0.input, output: $0.output, lambda: c.lambda) })
        var oldLogProbs = flat.map { LambdaSplit.oldLogProb($0.output, lambda: c.lambda) }
        if !model.reproducibleLogProbs {
            // the rollout re-scored by the same forward the update uses, so the first ratio is exactly 1
            oldLogProbs = []
            for start in stride(from: 0, to: rows.count, by: max(1, c.minibatch)) {
                let part = Array(rows[start..<min(rows.count, start + max(1, c.minibatch))])
                let s = try Autograd.noGrad { try model.score(part, temperature: c.temperature) }
                oldLogProbs += s.weighted.scalars.map(Double.init)
            }
        }
        let oldValues = flat.map { Double($0.output.value) }
        let sftWeight = c.sftWeight * Float(dagger.mixing.weight(update: update, totalUpdates: totalUpdates))
        // KL to the initial policy: the same λ-weighted log-probs of the sampled tokens under the reference.
        var referenceLogProbs: [Double]?
        if c.ppo.klCoef != 0 {
            guard let reference else { throw TrainerError.badConfig("a KL penalty needs the initial policy as reference") }
            referenceLogProbs = try flat.map { s in
                Double(try reference.evaluate(s.input, outputs: [s.output.tokenIDs], lambda: c.lambda, temperature: c.temperature)[0].logProb)
            }
        }
        var entropySum = 0.0, entropyTokens = 0

        var stats = PPOUpdateStats()
        var pending = 0
        model.zeroGrad()
        for _ in 0..<c.epochs {
            var order = Array(flat.indices)
            for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, rng.int(in: 0...i)) }
            for start in stride(from: 0, to: order.count, by: max(1, c.minibatch)) {
                if shouldStop() { return finish(stats) }
                let idx = Array(order[start..<min(order.count, start + max(1, c.minibatch))])
                var loss: Tensor<Float>?
                var diagnostics: PPODiagnostics?
                if c.ppoWeight != 0 {
                    // PPO on exactly the sampled tokens: new λ-weighted log-probs and values as graph tensors (B).
                    let s = try model.score(idx.map { rows[$0] }, temperature: c.temperature)
                    for e in s.entropies { entropySum += e.reduce(0) { $0 + Double($1) }; entropyTokens += e.count }
                    // Entropy bonus (off by default): −log π(o) of the sampled outputs, a sample estimate of H(π).
                    let terms = PPOLoss.compute(PPOInputs(newLogProbs: s.weighted, newValues: s.value, oldLogProbs: idx.map { oldLogProbs[$0] },
                                                          advantages: idx.map { advantages[$0] }, oldValues: idx.map { oldValues[$0] },
                                                          returns: idx.map { returns[$0] }, referenceLogProbs: referenceLogProbs.map { r in idx.map { r[$0] } },
                                                          entropy: c.ppo.entropyCoef != 0 ? -s.weighted : nil), config: c.ppo)
                    guard terms.diagnostics.finite else { stats.skipped += 1; continue }
                    loss = c.ppoWeight == 1 ? terms.total : terms.total * c.ppoWeight
                    diagnostics = terms.diagnostics
                }
                // Thought cloning: DAgger samples' corrected thoughts, the action span masked (weights 0).
                if sftWeight > 0, dagger.labelledCount > 0 {
                    let samples = dagger.draw(rng: &rng)
                    if !samples.isEmpty {
                        let sftRows = samples.map(\.row)
                        let sft = ThoughtCloning.loss(weighted: try model.score(sftRows, temperature: 1).weighted, rows: sftRows)
                        if sft.item().isFinite {
                            loss = loss.map { $0 + sft * sftWeight } ?? sft * sftWeight
                            stats.sftLoss += Double(sft.item()); stats.sftSamples += samples.count; stats.sftMinibatches += 1
                        }
                    }
                }
                stats.minibatches += 1
                if let d = diagnostics {
                    stats.policyLoss += d.policyLoss; stats.valueLoss += d.valueLoss
                    stats.approxKL += d.approxKL; stats.clipFraction += d.clipFraction; stats.guarded += d.guarded
                }
                guard let loss else { continue }
                (loss * (1 / Float(max(1, c.accumulation)))).backward()
                pending += 1
                if pending == max(1, c.accumulation) {
                    stats.gradNorm += Double(clipGradNorm(model.parameters, maxNorm: c.maxGradNorm))
                    beforeStep()
                    optimizer.step()
                    model.zeroGrad()
                    stats.optimizerSteps += 1
                    pending = 0
                }
            }
        }
        if pending > 0 {
            stats.gradNorm += Double(clipGradNorm(model.parameters, maxNorm: c.maxGradNorm))
            beforeStep()
            optimizer.step()
            model.zeroGrad()
            stats.optimizerSteps += 1
        }
        stats.entropy = entropyTokens == 0 ? 0 : entropySum / Double(entropyTokens)
        return finish(stats)
    }

    private static func finish(_ s: PPOUpdateStats) -> PPOUpdateStats {
        var s = s
        let m = Double(max(1, s.minibatches))
        s.policyLoss /= m; s.valueLoss /= m; s.approxKL /= m; s.clipFraction /= m
        s.sftLoss /= Double(max(1, s.sftMinibatches))
        s.gradNorm /= Double(max(1, s.optimizerSteps))
        return s
    }
}
