import Foundation

/// Generalised advantage estimation (Schulman et al. 2016) as RL4VLM/GTR run it (gtr-method §4.3), over a
/// rollout of E parallel envs × T steps.
///
/// How it fits a trainer: each of the E `EpisodeSession`s plays T steps per update; step t of env e stores the
/// policy's value V(s_t) (`PolicyOutput.value`), the env reward r_t (`EpisodeStep.reward`, after GTR's truncation
/// override: `GTRTruncation`), and `done` = the step ended the episode (`EpisodeStep.done`, again *after* the
/// override: digest §11 bug 10). After the T steps the trainer asks the policy for V(s_T) of each env's current
/// state (the state after the last step, with *that* state's prompt: §11 bug 6) and calls `GAE.compute`.
/// A `done` step never bootstraps: as in GTR (`use-proper-time-limits` off) a truncation cuts like a termination.
///
/// Per step, with m_{t+1} = 0 when step t ended its episode and V_T the bootstrap value:
///
///     δ_t = r_t + γ·V_{t+1}·m_{t+1} − V_t
///     A_t = δ_t + γ·λ·m_{t+1}·A_{t+1}
///     R_t = A_t + V_t                       (the value targets)
///
/// GTR's +5 format bonus f_t is *not* propagated through the recursion: it is added to A_t and R_t afterwards
/// (`bonus`, parity with GTR; digest §11 bug 11 notes the value then learns a +5·P(valid) offset). To propagate it
/// instead, add it to the rewards and pass no `bonus`.
public enum GAE {
    /// γ = 0.9 and λ_GAE = 0.95 (GTR's scripts, digest §4.1).
    public struct Config: Sendable, Equatable, Codable {
        public var gamma = 0.9
        public var lambda = 0.95
        public init(gamma: Double = 0.9, lambda: Double = 0.95) { self.gamma = gamma; self.lambda = lambda }
    }

    /// Advantages and returns, both [E][T].
    public struct Result: Sendable, Equatable {
        public var advantages: [[Double]]
        public var returns: [[Double]]
        /// All advantages flattened env-major (env 0's T steps, then env 1's …): the order `normalize` and a
        /// trainer's minibatch indices use.
        public var flatAdvantages: [Double] { advantages.flatMap { $0 } }
        public var flatReturns: [Double] { returns.flatMap { $0 } }
    }

    public enum InputError: Error, Equatable, CustomStringConvertible {
        case shape(String)
        public var description: String { if case let .shape(m) = self { return "GAE: \(m)" }; return "GAE" }
    }

    /// - Parameters:
    ///   - rewards: [E][T] env rewards.
    ///   - values: [E][T] V(s_t) recorded when the step was taken (the rollout's "old" values).
    ///   - dones: [E][T] true when step t ended its episode (termination or truncation): no bootstrap through it.
    ///   - lastValues: [E] V(s_T), the value of each env's state after its last step (ignored when that step was done).
    ///   - bonus: optional [E][T] per-step bonus added to advantages and returns after the recursion (GTR's format bonus).
    public static func compute(rewards: [[Double]], values: [[Double]], dones: [[Bool]], lastValues: [Double],
                               bonus: [[Double]]? = nil, config: Config = Config()) throws -> Result {
        let e = rewards.count
        guard values.count == e, dones.count == e, lastValues.count == e, bonus.map({ $0.count == e }) ?? true else {
            throw InputError.shape("rewards, values, dones, lastValues (and bonus) need the same number of envs (\(e))")
        }
        var adv: [[Double]] = [], ret: [[Double]] = []
        for i in 0..<e {
            let t = rewards[i].count
            guard values[i].count == t, dones[i].count == t, bonus.map({ $0[i].count == t }) ?? true else {
                throw InputError.shape("env \(i): rewards has \(t) steps, values \(values[i].count), dones \(dones[i].count)")
            }
            var a = [Double](repeating: 0, count: t)
            var next = 0.0  // A_{t+1}
            for k in stride(from: t - 1, through: 0, by: -1) {
                let mask = dones[i][k] ? 0.0 : 1.0
                let nextValue = k == t - 1 ? lastValues[i] : values[i][k + 1]
                let delta = rewards[i][k] + config.gamma * nextValue * mask - values[i][k]
                next = delta + config.gamma * config.lambda * mask * next
                a[k] = next
            }
            var r = zip(a, values[i]).map { $0 + $1 }
            if let b = bonus?[i] {
                for k in 0..<t { a[k] += b[k]; r[k] += b[k] }
            }
            adv.append(a); ret.append(r)
        }
        return Result(advantages: adv, returns: ret)
    }

    /// ε added to the standard deviation in `normalize` (ikostrikov/RL4VLM/GTR use 1e-5).
    public static let normalizationEpsilon = 1e-5

    /// (A − mean) / (std + ε) over the whole rollout (all E·T steps together, as GTR with minibatch 1 — per-minibatch
    /// normalisation would be meaningless there). `std` is the *unbiased* sample standard deviation (N − 1), as
    /// `torch.Tensor.std()` in `ppo.py`; a single step has std 0 and comes out as 0.
    public static func normalize(_ a: [Double], epsilon: Double = normalizationEpsilon) -> [Double] {
        guard !a.isEmpty else { return [] }
        let n = Double(a.count)
        let mean = a.reduce(0, +) / n
        let variance = a.count > 1 ? a.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / (n - 1) : 0
        let denominator = variance.squareRoot() + epsilon
        return a.map { ($0 - mean) / denominator }
    }

    /// `normalize` over an [E][T] table, keeping its shape.
    public static func normalize(_ a: [[Double]], epsilon: Double = normalizationEpsilon) -> [[Double]] {
        var flat = normalize(a.flatMap { $0 }, epsilon: epsilon)[...]
        return a.map { row in let out = Array(flat.prefix(row.count)); flat = flat.dropFirst(row.count); return out }
    }
}
