import Foundation
import Testing
@testable import Tensors

typealias TD = Tensor<Double>

/// Random Double leaf with gradients on.
func leaf(_ shape: [Int], seed: UInt64, low: Double = -1, high: Double = 1) -> TD {
    var rng = TensorRNG(seed: seed)
    let t = TD.uniform(shape, low: low, high: high, rng: &rng)
    t.requiresGrad = true
    return t
}

/// Compares autograd gradients of L = Σ f(inputs) ⊙ R (R a fixed random tensor) with central differences.
/// `f` may build views (transposes, slices, broadcasts) of the leaves, so non-contiguous inputs are covered.
func gradCheck(_ name: String, _ inputs: [TD], eps: Double = 1e-6, tol: Double = 1e-6,
               sourceLocation: SourceLocation = #_sourceLocation, _ f: ([TD]) -> TD) {
    for x in inputs { x.zeroGrad() }
    let y = f(inputs)
    var rng = TensorRNG(seed: 99)
    let r = TD.uniform(y.shape, low: -1, high: 1, rng: &rng)
    func loss() -> Double { Autograd.noGrad { (f(inputs) * r).sum().item() } }
    (y * r).sum().backward()
    var worst = 0.0
    for (k, x) in inputs.enumerated() {
        let g = x.grad?.scalars ?? [Double](repeating: 0, count: x.count)
        for i in 0..<x.count {
            let old = x.pointer[i]
            x.pointer[i] = old + eps; let lp = loss()
            x.pointer[i] = old - eps; let lm = loss()
            x.pointer[i] = old
            let num = (lp - lm) / (2 * eps)
            let err = abs(num - g[i]) / max(1, abs(num))
            worst = max(worst, err)
            if err > tol {
                Issue.record("\(name): input \(k) element \(i): autograd \(g[i]) vs numeric \(num)", sourceLocation: sourceLocation)
                return
            }
        }
    }
    #expect(worst <= tol, "\(name) worst relative error \(worst)", sourceLocation: sourceLocation)
}

@Suite struct GradCheckTests {
    @Test func broadcastingBinaryOps() {
        let a = leaf([3, 4], seed: 1), b = leaf([4], seed: 2), c = leaf([3, 1], seed: 3, low: 0.5, high: 2)
        gradCheck("add", [a, b]) { $0[0] + $0[1] }
        gradCheck("sub", [a, c]) { $0[0] - $0[1] }
        gradCheck("mul", [a, b]) { $0[0] * $0[1] }
        gradCheck("div", [a, c]) { $0[0] / $0[1] }
        // non-contiguous: a transposed view against a broadcast column
        let d = leaf([4, 3], seed: 4)
        gradCheck("mul of transposed view", [d, c]) { $0[0].mT * $0[1] }
        gradCheck("scalar affine and neg", [a]) { -($0[0] * 3 + 2) / 4 - 1 }
        gradCheck("leading broadcast", [leaf([2, 3, 4], seed: 5), b]) { $0[0] + $0[1] * $0[0] }
    }

    @Test func minMaxClamp() {
        // values spaced so no tie or clip boundary sits within eps
        let a = TD(shape: [2, 3], scalars: [0.3, -0.7, 1.2, 0.05, -0.2, 0.9], requiresGrad: true)
        let b = TD(shape: [3], scalars: [0.1, -0.5, 1.5], requiresGrad: true)
        gradCheck("minimum", [a, b]) { $0[0].minimum($0[1]) }
        gradCheck("maximum", [a, b]) { $0[0].maximum($0[1]) }
        gradCheck("clamp", [a]) { $0[0].clamp(min: -0.5, max: 1.0) }
    }

    @Test func reductions() {
        let a = leaf([2, 3, 4], seed: 6)
        gradCheck("sum all", [a]) { $0[0].sum() }
        gradCheck("sum axis 1", [a]) { $0[0].sum(axis: 1) }
        gradCheck("sum axes 0,2 keep", [a]) { $0[0].sum(axes: [0, 2], keepDims: true) }
        gradCheck("mean last", [a]) { $0[0].mean(axis: -1) }
        gradCheck("sum of permuted", [a]) { $0[0].permute([2, 0, 1]).sum(axis: 2) }
    }

    @Test func pointwise() {
        let a = leaf([3, 5], seed: 7, low: -2, high: 2), p = leaf([3, 5], seed: 8, low: 0.2, high: 3)
        gradCheck("exp", [a]) { $0[0].exp() }
        gradCheck("log", [p]) { $0[0].log() }
        gradCheck("tanh", [a]) { $0[0].tanh() }
        gradCheck("sigmoid", [a]) { $0[0].sigmoid() }
        gradCheck("silu", [a]) { $0[0].silu() }
        gradCheck("swiglu", [a, leaf([3, 5], seed: 78, low: -2, high: 2)]) { TD.swiglu(gate: $0[0], up: $0[1]) }
        gradCheck("swiglu of a transposed gate", [leaf([5, 3], seed: 79, low: -2, high: 2), a]) { TD.swiglu(gate: $0[0].mT, up: $0[1]) }
        gradCheck("gelu", [a]) { $0[0].gelu() }
        gradCheck("sqrt", [p]) { $0[0].sqrt() }
        let r = TD(shape: [4], scalars: [-1.5, -0.2, 0.3, 2], requiresGrad: true)
        gradCheck("relu", [r]) { $0[0].relu() }
        gradCheck("pointwise on transposed", [a]) { $0[0].mT.tanh() }
    }

    @Test func matmulVariants() {
        gradCheck("2d", [leaf([3, 4], seed: 9), leaf([4, 5], seed: 10)]) { $0[0].matmul($0[1]) }
        gradCheck("aᵀ·bᵀ views", [leaf([4, 3], seed: 11), leaf([5, 4], seed: 12)]) { $0[0].mT.matmul($0[1].mT) }
        gradCheck("batched @ shared", [leaf([2, 3, 4], seed: 13), leaf([4, 5], seed: 14)]) { $0[0].matmul($0[1]) }
        gradCheck("batch broadcast", [leaf([2, 1, 3, 4], seed: 15), leaf([1, 3, 4, 2], seed: 16)]) { $0[0].matmul($0[1]) }
        gradCheck("batched transposed", [leaf([2, 3, 4], seed: 17), leaf([2, 5, 4], seed: 18)]) { $0[0].matmul($0[1].mT) }
        gradCheck("sliced operand", [leaf([3, 6], seed: 19), leaf([3, 2], seed: 20)]) { $0[0].slice(axis: 1, 1, 4).mT.matmul($0[1]) }
    }

    @Test func softmaxFamily() {
        let a = leaf([3, 6], seed: 21, low: -3, high: 3)
        gradCheck("softmax", [a]) { $0[0].softmax() }
        gradCheck("logSoftmax", [a]) { $0[0].logSoftmax() }
        gradCheck("softmax of transposed", [a]) { $0[0].mT.softmax() }
        gradCheck("crossEntropy weighted, ignore", [leaf([5, 7], seed: 22, low: -2, high: 2)]) {
            $0[0].crossEntropy(targets: [3, -100, 0, 6, 2], weights: [0.5, 1, 1, 2, 0.25])
        }
        gradCheck("targetLogProbs", [leaf([2, 3, 5], seed: 77, low: -3, high: 3)]) {
            $0[0].targetLogProbs([4, 0, 2, 2, 1, 3]) * Tensor(shape: [2, 3], scalars: [0.5, -1, 2, 1, 0.25, -0.75])
        }
        gradCheck("crossEntropy sum", [leaf([2, 3, 4], seed: 23)]) {
            $0[0].crossEntropy(targets: [0, 1, 2, 3, 1, 0], normalize: false)
        }
    }

    @Test func indexing() {
        let table = leaf([6, 3], seed: 24)
        gradCheck("embedding with repeats", [table]) { $0[0].embedding([1, 4, 1, 5], shape: [2, 2]) }
        let a = leaf([3, 4], seed: 25), b = leaf([3, 2], seed: 26)
        gradCheck("concat", [a, b]) { Tensor.concat([$0[0], $0[1]], axis: 1) }
        gradCheck("split", [a]) { let p = $0[0].split([1, 3], axis: 1); return p[1] * 2 + p[0] }
        gradCheck("stack", [a, leaf([3, 4], seed: 27)]) { Tensor.stack([$0[0], $0[1]], axis: 1) }
        gradCheck("gather", [a]) { $0[0].gather(axis: 1, index: [3, 3, 0, 1, 2, 1], shape: [3, 2]) }
        gradCheck("where", [a, b.slice(axis: 1, 0, 1).detachedLeaf()]) {
            Tensor.where([true, false, true, false], shape: [4], $0[0], $0[1])
        }
        gradCheck("maskedFill", [a]) { $0[0].maskedFill([false, true, false], shape: [3, 1], value: -5) }
        gradCheck("views", [leaf([2, 3, 4], seed: 28)]) {
            $0[0].transpose(0, 2).reshape([4, 6]).unsqueeze(0).expand([2, 4, 6]).sum(axis: 0).unsqueeze(2).squeeze(2).slice(axis: 0, 1, 3).contiguous()
        }
    }

    @Test func norms() {
        let x = leaf([3, 8], seed: 29, low: -2, high: 2), w = leaf([8], seed: 30), b = leaf([8], seed: 31)
        gradCheck("layerNorm", [x, w, b]) { $0[0].layerNorm(weight: $0[1], bias: $0[2]) }
        gradCheck("rmsNorm", [x, w]) { $0[0].rmsNorm(weight: $0[1]) }
        gradCheck("layerNorm of transposed", [leaf([8, 3], seed: 32), w, b]) { $0[0].mT.layerNorm(weight: $0[1], bias: $0[2]) }
    }

    @Test func rope() {
        let x = leaf([2, 3, 5, 8], seed: 33)
        gradCheck("rope halves", [x]) { $0[0].rope(base: 100, positionOffset: 3, pairing: .halves) }
        gradCheck("rope adjacent", [x]) { $0[0].rope(base: 100, pairing: .adjacent) }
        gradCheck("rope on transposed", [leaf([2, 5, 3, 8], seed: 34)]) { $0[0].transpose(1, 2).rope(pairing: .adjacent) }
    }

    @Test func attention() {
        let q = leaf([2, 4, 3, 4], seed: 35), k = leaf([2, 2, 5, 4], seed: 36), v = leaf([2, 2, 5, 3], seed: 37)
        gradCheck("causal GQA with cache offset", [q, k, v]) { Tensor.attention(q: $0[0], k: $0[1], v: $0[2], causal: true) }
        gradCheck("full attention", [q, k, v]) { Tensor.attention(q: $0[0], k: $0[1], v: $0[2], causal: false) }
        let qt = leaf([2, 3, 4, 4], seed: 38)
        gradCheck("transposed q view", [qt, k, v]) { Tensor.attention(q: $0[0].transpose(1, 2), k: $0[1], v: $0[2], causal: true) }
    }

    /// The fused linear map: bias in the GEMM, dW in W's layout, and dx accumulated by the GEMM when the input
    /// already has a gradient (two maps of one input, as q, k and v read the same x); two slices of one tensor
    /// add into its gradient.
    @Test func linearAndRepeatedUse() {
        let x = leaf([2, 3, 4], seed: 57), w1 = leaf([5, 4], seed: 58), b1 = leaf([5], seed: 59), w2 = leaf([3, 4], seed: 60)
        gradCheck("linear with bias", [x, w1, b1]) { $0[0].linear(weight: $0[1], bias: $0[2]) }
        gradCheck("two linears of one input", [x, w1, b1, w2]) {
            $0[0].linear(weight: $0[1], bias: $0[2]).sum(axis: 2) + $0[0].linear(weight: $0[3], bias: nil).sum(axis: 2)
        }
        gradCheck("two slices of one tensor", [leaf([4, 6], seed: 61)]) { $0[0].slice(axis: 0, 0, 2) * $0[0].slice(axis: 0, 1, 3) }
    }

    /// Longer than one 64-row causal block (the masked triangle is skipped block by block), with a KV-cache
    /// offset and grouped heads, and the one-query decoding path.
    @Test func attentionAcrossCausalBlocksAndDecoding() {
        let q = leaf([1, 2, 70, 2], seed: 48), k = leaf([1, 1, 75, 2], seed: 49), v = leaf([1, 1, 75, 2], seed: 50)
        gradCheck("causal, two query blocks, offset 5", [q, k, v]) { Tensor.attention(q: $0[0], k: $0[1], v: $0[2], causal: true) }
        let q1 = leaf([2, 2, 1, 4], seed: 51), k1 = leaf([2, 2, 6, 4], seed: 52), v1 = leaf([2, 2, 6, 3], seed: 53)
        gradCheck("one query (decoding)", [q1, k1, v1]) { Tensor.attention(q: $0[0], k: $0[1], v: $0[2], causal: true, keyStart: [0, 2]) }
    }

    @Test func blockedAttentionMatchesComposedOps() {
        // 130 queries over 134 keys (3 causal blocks), batch row 1 hiding its first 3 keys
        let t = 130, s = 134
        let q = leaf([2, 1, t, 3], seed: 54), k = leaf([2, 1, s, 3], seed: 55), v = leaf([2, 1, s, 2], seed: 56)
        let fused = Tensor.attention(q: q, k: k, v: v, causal: true, keyStart: [0, 3])
        for b in 0..<2 {
            var mask: [Bool] = []
            for i in 0..<t { for j in 0..<s { mask.append(j > i + (s - t) || (b == 1 && j < 3)) } }
            let qb = q.slice(axis: 0, b, b + 1), kb = k.slice(axis: 0, b, b + 1), vb = v.slice(axis: 0, b, b + 1)
            let scores = qb.matmul(kb.mT) * (1 / 3.0.squareRoot())
            let composed = scores.maskedFill(mask, shape: [t, s], value: -.infinity).softmax().matmul(vb)
            let f = fused.slice(axis: 0, b, b + 1)
            for (a, c) in zip(f.scalars, composed.scalars) { #expect(abs(a - c) < 1e-12) }
        }
    }

    @Test func attentionMatchesComposedOps() {
        let q = leaf([1, 2, 4, 3], seed: 39), k = leaf([1, 2, 4, 3], seed: 40), v = leaf([1, 2, 4, 3], seed: 41)
        let fused = Tensor.attention(q: q, k: k, v: v, causal: true)
        var mask: [Bool] = []
        for i in 0..<4 { for j in 0..<4 { mask.append(j > i) } }
        let scores = q.matmul(k.mT) * (1 / 3.0.squareRoot())
        let composed = scores.maskedFill(mask, shape: [4, 4], value: -.infinity).softmax().matmul(v)
        for (a, b) in zip(fused.scalars, composed.scalars) { #expect(abs(a - b) < 1e-12) }
    }

    @Test func convolutionAndDropout() {
        let x = leaf([2, 2, 5, 5], seed: 42), w = leaf([3, 2, 3, 3], seed: 43), b = leaf([3], seed: 44)
        gradCheck("conv2d stride 2 pad 1", [x, w, b]) { $0[0].conv2d(weight: $0[1], bias: $0[2], stride: 2, padding: 1) }
        gradCheck("patch embedding", [leaf([1, 3, 4, 4], seed: 45), leaf([2, 3, 2, 2], seed: 46)]) {
            $0[0].conv2d(weight: $0[1], bias: nil, stride: 2)
        }
        gradCheck("dropout (fixed mask)", [leaf([4, 4], seed: 47)]) { var r = TensorRNG(seed: 5); return $0[0].dropout(0.3, training: true, rng: &r) }
    }
}

extension Tensor {
    /// A contiguous copy that is its own leaf with gradients on.
    func detachedLeaf() -> Tensor { let c = copy(); c.requiresGrad = true; return c }
}
