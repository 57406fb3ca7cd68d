import Foundation
import Testing
@testable import Tensors

@Suite struct OptimizerTests {
    func param(_ v: [Float], grad: [Float]) -> Parameter {
        let p = Tensor<Float>(shape: [v.count], scalars: v, requiresGrad: true)
        (p * Tensor<Float>(shape: [v.count], scalars: grad)).sum().backward()
        return p
    }

    @Test func adamWMatchesTheFormula() {
        let p = param([1, -2], grad: [0.5, -0.25])
        let opt = Adam.adamW([("w", p)], learningRate: 0.1, weightDecay: 0.1)
        opt.step()
        // step 1: m̂ = g, v̂ = g², so w ← w(1 − lr·wd) − lr·g/(|g| + eps)
        let expect: [Float] = [1 * (1 - 0.01) - 0.1 * 0.5 / (0.5 + 1e-8), -2 * (1 - 0.01) + 0.1 * 0.25 / (0.25 + 1e-8)]
        for (a, b) in zip(p.scalars, expect) { #expect(abs(a - b) < 1e-6) }
    }

    /// The update runs as one pooled job over pieces of every parameter: tensors larger than a piece (20,000
    /// elements), smaller ones, one without a gradient this step and one that is frozen must each get exactly the
    /// per-element formula, three steps running, in the same bits as a plain loop.
    @Test func adamWOverManyTensorsMatchesAPlainLoop() {
        var rng = TensorRNG(seed: 5)
        let sizes = [20_000, 3, 8_192, 8_193, 1, 640]
        func fresh(_ n: Int, grad: Bool) -> Tensor<Float> {
            Tensor<Float>(shape: [n], scalars: Tensor<Float>.randn([n], rng: &rng).scalars, requiresGrad: grad)
        }
        var ps: [Tensor<Float>] = []
        for n in sizes { ps.append(fresh(n, grad: true)) }
        let frozen = fresh(10, grad: false), idle = fresh(7, grad: true)
        var named: [(String, Parameter)] = ps.enumerated().map { ("p\($0.offset)", $0.element) }
        named += [("frozen", frozen), ("idle", idle)]
        let opt = Adam.adamW(named, learningRate: 0.01, weightDecay: 0.1)
        var w = ps.map(\.scalars), m = sizes.map { [Float](repeating: 0, count: $0) }, v = m
        let frozenBefore = frozen.scalars, idleBefore = idle.scalars
        let (b1, b2, lr, wd, e): (Float, Float, Float, Float, Float) = (0.9, 0.999, 0.01, 0.1, 1e-8)
        for step in 1...3 {
            var gs: [Tensor<Float>] = []
            for n in sizes { gs.append(Tensor<Float>.randn([n], rng: &rng)) }
            for (p, g) in zip(ps, gs) { p.zeroGrad(); (p * g).sum().backward() }
            opt.step()
            let bc1 = 1 - Foundation.pow(b1, Float(step)), bc2 = 1 - Foundation.pow(b2, Float(step))
            let stepSize = lr / bc1, invSqrtBc2 = 1 / bc2.squareRoot(), shrink = 1 - lr * wd
            for (j, g) in gs.enumerated() {
                let gv = g.scalars
                for i in 0..<sizes[j] {
                    m[j][i] = b1 * m[j][i] + (1 - b1) * gv[i]
                    v[j][i] = b2 * v[j][i] + (1 - b2) * gv[i] * gv[i]
                    w[j][i] = w[j][i] * shrink - stepSize * m[j][i] / (v[j][i].squareRoot() * invSqrtBc2 + e)
                }
                #expect(ps[j].scalars == w[j], "parameter \(j) (\(sizes[j]) elements), step \(step)")
            }
        }
        #expect(frozen.scalars == frozenBefore)
        #expect(idle.scalars == idleBefore)
    }

    @Test func adamCouplesDecayIntoTheGradient() {
        let p = param([1], grad: [0])
        let opt = Adam([("w", p)], learningRate: 0.1, weightDecay: 0.5)
        opt.step()
        // g' = 0 + 0.5·1; first Adam step moves by lr·sign(g')
        #expect(abs(p.scalars[0] - 0.9) < 1e-6)
    }

    @Test func sgdWithMomentum() {
        let p = param([1], grad: [2])
        let opt = SGD([("w", p)], learningRate: 0.1, momentum: 0.9)
        opt.step(); opt.step()
        // v1 = 2, w = 0.8; v2 = 0.9·2 + 2 = 3.8, w = 0.8 − 0.38
        #expect(abs(p.scalars[0] - 0.42) < 1e-6)
    }

    @Test func clippingScalesToTheMaxNorm() {
        let a = param([0, 0], grad: [3, 0]), b = param([0], grad: [4])
        let n = clipGradNorm([a, b], maxNorm: 1)
        #expect(abs(n - 5) < 1e-6)
        let total = (a.grad!.scalars + b.grad!.scalars).map { $0 * $0 }.reduce(0, +).squareRoot()
        #expect(abs(total - 1) < 1e-5)
    }

    @Test func cosineScheduleWithWarmup() {
        let s = CosineSchedule(peak: 1, floor: 0.1, warmupSteps: 10, totalSteps: 110)
        #expect(s(5) == 0.5 && s(10) == 1)
        #expect(abs(s(60) - 0.55) < 1e-6)
        #expect(s(110) == 0.1 && s(500) == 0.1)
    }

    /// Training 6 steps in one go equals 3 steps, save, load into a fresh model and optimizer, 3 more steps.
    @Test func stateSavedWithWeightsResumesExactly() throws {
        let dir = NSTemporaryDirectory() + "gtr-optim-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let cfg = TransformerConfig(vocabSize: 9, dModel: 8, layers: 1, heads: 2, maxSequence: 6)
        let ids = [1, 2, 3, 4, 5, 6], targets = [2, 3, 4, 5, 6, 7]
        func train(_ m: DecoderTransformer, _ o: Adam, _ n: Int) {
            for _ in 0..<n { m.zeroGrad(); m(ids, batch: 1).crossEntropy(targets: targets).backward(); o.step() }
        }
        let a = DecoderTransformer(cfg, seed: 1), oa = Adam.adamW(a.namedParameters(), learningRate: 0.01)
        train(a, oa, 6)
        let b = DecoderTransformer(cfg, seed: 1), ob = Adam.adamW(b.namedParameters(), learningRate: 0.01)
        train(b, ob, 3)
        try Checkpoint.save(b, optimizer: ob, metadata: ["note": "mid"], to: dir + "/ck.safetensors")
        let c = DecoderTransformer(cfg, seed: 99), oc = Adam.adamW(c.namedParameters(), learningRate: 0.01)
        let meta = try Checkpoint.load(c, optimizer: oc, from: dir + "/ck.safetensors")
        #expect(meta["note"] == "mid" && oc.stepCount == 3)
        train(c, oc, 3)
        #expect(a.parameters.map(\.scalars) == c.parameters.map(\.scalars))
        // Wrong optimizer kind is refused with a clear error.
        let wrong = SGD(c.namedParameters(), learningRate: 0.1)
        #expect(throws: TensorError.self) { try Checkpoint.load(c, optimizer: wrong, from: dir + "/ck.safetensors") }
    }
}
