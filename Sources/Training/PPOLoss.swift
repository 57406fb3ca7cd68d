import Foundation
import Tensors

/// PPO's hyper-parameters as RL4VLM/GTR set them (digest §4.1, §4.4).
public struct PPOConfig: Sendable, Equatable, Codable {
    /// ε of the clipped surrogate: ratios are clipped to [1 − ε, 1 + ε].
    public var clip = 0.1
    /// Value clipping range around the rollout's values (GTR reuses `clip-param`, 0.1); nil: plain squared error.
    public var valueClip: Double? = 0.1
    /// Weight of the value loss in the total (0.5). The value loss itself already carries ikostrikov's ½.
    public var valueCoef = 0.5
    /// GTR's optional ratio guard: a sample whose ratio exceeds this (10 in GTR) contributes only its clipped term
    /// −clip(r)·A, which is constant there (zero gradient): the sample is dropped from the policy gradient. nil: off.
    public var ratioGuard: Double? = nil
    /// Where the guard applies; see `GuardScope`.
    public var guardScope = GuardScope.sample
    /// Entropy bonus weight (GTR: 0; its `entropy_coef` is never used). Needs `PPOInputs.entropy`.
    public var entropyCoef = 0.0
    /// Weight of a KL(π ‖ π_initial) penalty (0: off, as GTR). Needs `PPOInputs.referenceLogProbs`.
    public var klCoef = 0.0

    /// GTR's rule (`ppo.py`) is "if *any* ratio in the minibatch exceeds 10, the whole minibatch's policy loss is
    /// −mean(surr2)". With GTR's minibatch of 1 that is exactly a per-sample guard. With larger minibatches the
    /// literal rule also throws away the pessimistic min() of every *other* sample: e.g. one with A > 0 and
    /// r < 1 − ε loses its gradient, one with A < 0 and r > 1 + ε its penalty. `.sample` (default) guards only the
    /// offending samples; `.minibatch` reproduces the literal rule for parity experiments.
    public enum GuardScope: String, Sendable, Equatable, Codable { case sample, minibatch }

    public init(clip: Double = 0.1, valueClip: Double? = 0.1, valueCoef: Double = 0.5, ratioGuard: Double? = nil,
                guardScope: GuardScope = .sample, entropyCoef: Double = 0, klCoef: Double = 0) {
        self.clip = clip; self.valueClip = valueClip; self.valueCoef = valueCoef; self.ratioGuard = ratioGuard
        self.guardScope = guardScope; self.entropyCoef = entropyCoef; self.klCoef = klCoef
    }
}

/// One minibatch of B samples for `PPOLoss.compute`.
///
/// How it fits a trainer: at rollout time the trainer stores, per step, the `TrainingRow` (input, generated ids,
/// weights λ on thought tokens and 1 on action tokens, split by `OutputSpans`), the λ-weighted log-prob
/// (`PolicyOutput.weightedLogProb(lambda:)`, the "old" log-prob), the value, and after `GAE` the normalised
/// advantage and the return. At update time it re-scores the minibatch's rows with `TrainablePolicy.score`
/// (same temperature) and passes `scores.weighted` / `scores.value` here as the graph tensors.
public struct PPOInputs<S: TensorScalar> {
    /// λ-weighted log π_θ of each sample's output, in the graph: (B).
    public var newLogProbs: Tensor<S>
    /// V_θ(s) per sample, in the graph: (B).
    public var newValues: Tensor<S>
    /// The same λ-weighted log-probs recorded at rollout time (B).
    public var oldLogProbs: [Double]
    /// Normalised advantages (B), `GAE.normalize` over the whole rollout.
    public var advantages: [Double]
    /// Values recorded at rollout time (B).
    public var oldValues: [Double]
    /// Value targets R = A + V (unnormalised, plus any bonus) (B).
    public var returns: [Double]
    /// λ-weighted log-probs of the same outputs under the initial policy (B), for the KL penalty: e.g. the
    /// `PolicyEvaluation.logProb` of a `snapshot()` taken before training, with the same λ and temperature.
    public var referenceLogProbs: [Double]?
    /// A differentiable entropy estimate per sample (B), for the entropy bonus.
    public var entropy: Tensor<S>?

    public init(newLogProbs: Tensor<S>, newValues: Tensor<S>, oldLogProbs: [Double], advantages: [Double], oldValues: [Double],
                returns: [Double], referenceLogProbs: [Double]? = nil, entropy: Tensor<S>? = nil) {
        self.newLogProbs = newLogProbs; self.newValues = newValues; self.oldLogProbs = oldLogProbs; self.advantages = advantages
        self.oldValues = oldValues; self.returns = returns; self.referenceLogProbs = referenceLogProbs; self.entropy = entropy
    }
}

/// What one minibatch reports besides its losses (no gradient).
public struct PPODiagnostics: Sendable, Equatable {
    /// mean((r − 1) − log r) = mean(exp(Δ) − 1 − Δ) with Δ = new − old: Schulman's k3 estimator of
    /// KL(π_old ‖ π_θ), non-negative, 0 when nothing moved.
    public var approxKL: Double
    /// Fraction of samples with |r − 1| > ε.
    public var clipFraction: Double
    /// Samples the ratio guard took out of the policy gradient (all B in `.minibatch` scope when it fires).
    public var guarded: Int
    public var ratioMean: Double
    public var ratioMax: Double
    public var policyLoss: Double
    public var valueLoss: Double
    public var totalLoss: Double
    /// False when any loss is NaN or infinite: GTR exits (gym-cards) or skips (ALF); a trainer should skip the
    /// minibatch and count it.
    public var finite: Bool { policyLoss.isFinite && valueLoss.isFinite && totalLoss.isFinite }
}

/// The graph tensors of one minibatch's loss; `total.backward()` fills the policy's gradients.
public struct PPOLossTerms<S: TensorScalar> {
    /// policy + valueCoef·value − entropyCoef·entropy + klCoef·kl, scalar.
    public var total: Tensor<S>
    /// −mean(min(r·A, clip(r, 1 ± ε)·A)), guarded samples contributing −clip(r)·A; scalar.
    public var policy: Tensor<S>
    /// ½·mean(max((V − R)², (V_clip − R)²)), V_clip = V_old + clip(V − V_old, ±valueClip); scalar.
    public var value: Tensor<S>
    /// mean entropy (scalar) when an entropy bonus is on.
    public var entropy: Tensor<S>?
    /// mean(exp(x) − 1 − x), x = log π_ref − log π_θ (k3 estimate of KL(π_θ ‖ π_ref) on the rollout's samples),
    /// when the KL penalty is on.
    public var kl: Tensor<S>?
    public var diagnostics: PPODiagnostics
}

/// The PPO objective of RL4VLM/GTR (ikostrikov's `algo/ppo.py`), as autograd tensors.
public enum PPOLoss {
    public static func compute<S: TensorScalar>(_ x: PPOInputs<S>, config c: PPOConfig = PPOConfig()) -> PPOLossTerms<S> {
        let b = x.oldLogProbs.count
        precondition(x.newLogProbs.shape == [b] && x.newValues.shape == [b], "PPO: new log-probs and values must be (\(b))")
        precondition(x.advantages.count == b && x.oldValues.count == b && x.returns.count == b, "PPO: inputs of different lengths")
        func constant(_ v: [Double]) -> Tensor<S> { Tensor(shape: [b], scalars: v.map { S($0) }) }

        // policy: ratio, the two surrogates and the pessimistic minimum
        let advantages = constant(x.advantages)
        let ratio = (x.newLogProbs - constant(x.oldLogProbs)).exp()
        let surr1 = ratio * advantages
        let surr2 = ratio.clamp(min: S(1 - c.clip), max: S(1 + c.clip)) * advantages
        let pessimistic = surr1.minimum(surr2)
        let ratios = ratio.scalars.map { Double($0) }
        var guardMask = [Bool](repeating: false, count: b)
        if let limit = c.ratioGuard {
            let over = ratios.map { $0 > limit }
            switch c.guardScope {
            case .sample: guardMask = over
            case .minibatch: if over.contains(true) { guardMask = [Bool](repeating: true, count: b) }
            }
        }
        let guarded = guardMask.filter { $0 }.count
        let chosen = guarded > 0 ? Tensor.where(guardMask, shape: [b], surr2, pessimistic) : pessimistic
        let policy = -chosen.mean()

        // value: clipped as RL4VLM/GTR (max of the unclipped and clipped squared errors)
        let returns = constant(x.returns)
        let unclipped = (x.newValues - returns).square()
        let valueError: Tensor<S>
        if let vc = c.valueClip {
            let old = constant(x.oldValues)
            let clipped = old + (x.newValues - old).clamp(min: S(-vc), max: S(vc))
            valueError = unclipped.maximum((clipped - returns).square())
        } else {
            valueError = unclipped
        }
        let value = valueError.mean() * S(0.5)

        var total = policy + value * S(c.valueCoef)
        var entropyTerm: Tensor<S>?
        if c.entropyCoef != 0 {
            guard let e = x.entropy else { preconditionFailure("PPO: entropyCoef \(c.entropyCoef) needs PPOInputs.entropy") }
            let m = e.mean()
            entropyTerm = m
            total = total - m * S(c.entropyCoef)
        }
        var klTerm: Tensor<S>?
        if c.klCoef != 0 {
            guard let ref = x.referenceLogProbs, ref.count == b else { preconditionFailure("PPO: klCoef needs referenceLogProbs (\(b))") }
            let d = constant(ref) - x.newLogProbs
            let k = (d.exp() - d - S(1)).mean()
            klTerm = k
            total = total + k * S(c.klCoef)
        }

        let deltas = zip(x.newLogProbs.scalars, x.oldLogProbs).map { Double($0) - $1 }
        let n = Double(max(b, 1))
        let diagnostics = PPODiagnostics(
            approxKL: deltas.reduce(0) { $0 + (Foundation.exp($1) - 1 - $1) } / n,
            clipFraction: Double(ratios.filter { abs($0 - 1) > c.clip }.count) / n,
            guarded: guarded,
            ratioMean: ratios.reduce(0, +) / n,
            ratioMax: ratios.max() ?? 0,
            policyLoss: Double(policy.item()), valueLoss: Double(value.item()), totalLoss: Double(total.item()))
        return PPOLossTerms(total: total, policy: policy, value: value, entropy: entropyTerm, kl: klTerm, diagnostics: diagnostics)
    }
}
