import Foundation

/// An optimizer over named parameters. State (moments, step count) is keyed by the parameter names, so it is
/// saved next to the weights and restored onto a freshly built model.
public protocol Optimizer: AnyObject {
    var learningRate: Float { get set }
    var stepCount: Int { get }
    /// Applies one update from the parameters' current gradients (parameters without a gradient are skipped).
    func step()
    /// Tensors to save, keyed `<param>.<slot>`, and scalar metadata.
    func state() -> (tensors: [String: Tensor<Float>], metadata: [String: String])
    func loadState(tensors: [String: Tensor<Float>], metadata: [String: String]) throws
}

/// SGD with optional momentum and (coupled, L2) weight decay.
public final class SGD: Optimizer {
    public var learningRate: Float
    public let momentum: Float, weightDecay: Float
    public private(set) var stepCount = 0
    let params: [(String, Parameter)]
    var velocity: [String: Tensor<Float>] = [:]

    public init(_ params: [(String, Parameter)], learningRate: Float, momentum: Float = 0, weightDecay: Float = 0) {
        self.params = params; self.learningRate = learningRate; self.momentum = momentum; self.weightDecay = weightDecay
    }

    public func step() {
        stepCount += 1
        for (name, p) in params where p.requiresGrad {
            guard let g = p.grad else { continue }
            let w = p.pointer, gp = g.pointer, n = p.count
            if momentum == 0 {
                for i in 0..<n { w[i] -= learningRate * (gp[i] + weightDecay * w[i]) }
            } else {
                let v = velocity[name] ?? { let z = Tensor<Float>.zeros(p.shape); velocity[name] = z; return z }()
                let vp = v.pointer
                for i in 0..<n { vp[i] = momentum * vp[i] + gp[i] + weightDecay * w[i]; w[i] -= learningRate * vp[i] }
            }
        }
    }

    public func state() -> (tensors: [String: Tensor<Float>], metadata: [String: String]) {
        (Dictionary(uniqueKeysWithValues: velocity.map { ("\($0.key).velocity", $0.value) }),
         ["optimizer": "sgd", "step": String(stepCount), "lr": String(learningRate)])
    }

    public func loadState(tensors: [String: Tensor<Float>], metadata: [String: String]) throws {
        guard metadata["optimizer"] == "sgd" else { throw TensorError.invalidFile("optimizer state is not SGD's") }
        stepCount = Int(metadata["step"] ?? "") ?? 0
        velocity = [:]
        for (name, p) in params { if let v = tensors["\(name).velocity"], v.shape == p.shape { velocity[name] = v.copy() } }
    }
}

/// Adam (Kingma & Ba) with bias correction. `decoupled: true` is AdamW (Loshchilov & Hutter): the weight decay
/// shrinks the weights directly (w −= lr·wd·w) instead of being added to the gradient, so it is not rescaled by
/// the adaptive denominator.
public final class Adam: Optimizer {
    public var learningRate: Float
    public let beta1: Float, beta2: Float, eps: Float, weightDecay: Float, decoupled: Bool
    public private(set) var stepCount = 0
    let params: [(String, Parameter)]
    var m: [String: Tensor<Float>] = [:], v: [String: Tensor<Float>] = [:]

    public init(_ params: [(String, Parameter)], learningRate: Float, beta1: Float = 0.9, beta2: Float = 0.999,
                eps: Float = 1e-8, weightDecay: Float = 0, decoupled: Bool = false) {
        self.params = params; self.learningRate = learningRate; self.beta1 = beta1; self.beta2 = beta2
        self.eps = eps; self.weightDecay = weightDecay; self.decoupled = decoupled
    }

    /// AdamW with PyTorch's defaults (weight decay 0.01).
    public static func adamW(_ params: [(String, Parameter)], learningRate: Float, beta1: Float = 0.9, beta2: Float = 0.999,
                             eps: Float = 1e-8, weightDecay: Float = 0.01) -> Adam {
        Adam(params, learningRate: learningRate, beta1: beta1, beta2: beta2, eps: eps, weightDecay: weightDecay, decoupled: true)
    }

    public func step() { OpProfile.region(decoupled ? "adamw" : "adam") { update() } }

    private func update() {
        stepCount += 1
        let t = Float(stepCount)
        let bc1 = 1 - Foundation.pow(beta1, t), bc2 = 1 - Foundation.pow(beta2, t)
        let lr = learningRate, b1 = beta1, b2 = beta2, e = eps, wd = weightDecay, decoupled = decoupled
        let stepSize = lr / bc1, invSqrtBc2 = 1 / bc2.squareRoot()
        // Every parameter cut into pieces of at most `piece` elements, all updated in one job on the pool: most
        // tensors (a 128×128 projection, biases, norms) are too small to split on their own, and one job per
        // tensor left the second core idle for most of the update. Element-independent: any cut gives the same bits.
        let piece = 1 << 13
        var pieces: [(w: UnsafeMutablePointer<Float>, g: UnsafeMutablePointer<Float>, m: UnsafeMutablePointer<Float>,
                      v: UnsafeMutablePointer<Float>, range: Range<Int>)] = []
        var total = 0
        var held: [Tensor<Float>] = []  // the gradients, alive until the job is done
        for (name, p) in params where p.requiresGrad {
            guard let g0 = p.grad else { continue }
            let g = g0.contiguousNoGrad()
            held.append(g)
            let mt = m[name] ?? { let z = Tensor<Float>.zeros(p.shape); m[name] = z; return z }()
            let vt = v[name] ?? { let z = Tensor<Float>.zeros(p.shape); v[name] = z; return z }()
            for lo in stride(from: 0, to: p.count, by: piece) {
                pieces.append((p.pointer, g.pointer, mt.pointer, vt.pointer, lo..<Swift.min(p.count, lo + piece)))
            }
            total += p.count
        }
        let jobs = pieces
        Parallel.run(chunks: jobs.count, work: 4 * total) { c in
            let (w, gp, mp, vp, r) = jobs[c]
            if decoupled {
                // w ← w·(1 − lr·wd) − lr·m̂/(√v̂ + eps)
                let shrink = 1 - lr * wd
                for i in r {
                    let gi = gp[i]
                    mp[i] = b1 * mp[i] + (1 - b1) * gi
                    vp[i] = b2 * vp[i] + (1 - b2) * gi * gi
                    w[i] = w[i] * shrink - stepSize * mp[i] / (vp[i].squareRoot() * invSqrtBc2 + e)
                }
            } else {
                for i in r {
                    let gi = gp[i] + wd * w[i]
                    mp[i] = b1 * mp[i] + (1 - b1) * gi
                    vp[i] = b2 * vp[i] + (1 - b2) * gi * gi
                    w[i] -= stepSize * mp[i] / (vp[i].squareRoot() * invSqrtBc2 + e)
                }
            }
        }
        withExtendedLifetime(held) {}
    }

    public func state() -> (tensors: [String: Tensor<Float>], metadata: [String: String]) {
        var t: [String: Tensor<Float>] = [:]
        for (k, x) in m { t["\(k).exp_avg"] = x }
        for (k, x) in v { t["\(k).exp_avg_sq"] = x }
        return (t, ["optimizer": decoupled ? "adamw" : "adam", "step": String(stepCount), "lr": String(learningRate),
                    "beta1": String(beta1), "beta2": String(beta2), "eps": String(eps), "weight_decay": String(weightDecay)])
    }

    public func loadState(tensors: [String: Tensor<Float>], metadata: [String: String]) throws {
        let kind = decoupled ? "adamw" : "adam"
        guard metadata["optimizer"] == kind else {
            throw TensorError.invalidFile("optimizer state is \(metadata["optimizer"] ?? "missing"), expected \(kind)")
        }
        guard let s = Int(metadata["step"] ?? ""), s >= 0 else { throw TensorError.invalidFile("optimizer state has no step count") }
        var nm: [String: Tensor<Float>] = [:], nv: [String: Tensor<Float>] = [:]
        for (name, p) in params {
            if let a = tensors["\(name).exp_avg"] {
                guard a.shape == p.shape, let b = tensors["\(name).exp_avg_sq"], b.shape == p.shape else {
                    throw TensorError.shapeMismatch("optimizer state for \"\(name)\" does not match the parameter \(p.shape)")
                }
                nm[name] = a.copy(); nv[name] = b.copy()
            }
        }
        stepCount = s; m = nm; v = nv
    }
}

/// Scales all gradients so their global L2 norm is at most `maxNorm`; returns the norm before clipping.
@discardableResult
public func clipGradNorm(_ params: [Parameter], maxNorm: Float) -> Float {
    var total: Double = 0
    for p in params { if let g = p.grad { let d = Double(Kernels.dot(g.pointer, g.pointer, g.count)); total += d } }
    let norm = Float(total.squareRoot())
    if norm > maxNorm && norm > 0 {
        let s = maxNorm / (norm + 1e-6)
        for p in params where p.grad != nil {
            if p.gradShared { p.grad = p.grad!.copy(); p.gradShared = false }
            let g = p.grad!.pointer
            for i in 0..<p.count { g[i] *= s }
        }
    }
    return norm
}

/// Linear warm-up to `peak`, then cosine decay to `floor` at `totalSteps` (constant afterwards).
public struct CosineSchedule: Codable, Sendable, Equatable {
    public var peak: Float, floor: Float, warmupSteps: Int, totalSteps: Int
    public init(peak: Float, floor: Float = 0, warmupSteps: Int, totalSteps: Int) {
        self.peak = peak; self.floor = floor; self.warmupSteps = warmupSteps; self.totalSteps = totalSteps
    }
    /// Learning rate for 1-based step `step`.
    public func callAsFunction(_ step: Int) -> Float {
        if step <= warmupSteps { return peak * Float(step) / Float(Swift.max(warmupSteps, 1)) }
        if step >= totalSteps { return floor }
        let progress = Double(step - warmupSteps) / Double(Swift.max(totalSteps - warmupSteps, 1))
        return floor + (peak - floor) * Float(0.5 * (1 + Foundation.cos(Double.pi * progress)))
    }
}
