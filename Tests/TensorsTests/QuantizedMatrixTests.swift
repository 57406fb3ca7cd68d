import Foundation
import Testing
@testable import Tensors

/// Random matrices of every block type: random quants, with the scale (and min) fields set to sane f16 values.
enum RandomQuant {
    static func bytes(_ type: GGMLType, rows: Int, cols: Int, seed: UInt64) -> [UInt8] {
        var rng = TensorRNG(seed: seed)
        func u() -> Double { rng.unit() }
        func f16(_ v: Double) -> [UInt8] { let b = Float16(Float(v)).bitPattern; return [UInt8(b & 0xFF), UInt8(b >> 8)] }
        let blocks = rows * cols / type.blockElements
        var out: [UInt8] = []
        out.reserveCapacity(blocks * type.blockBytes)
        for _ in 0..<blocks {
            var b = (0..<type.blockBytes).map { _ in UInt8(truncatingIfNeeded: Int(u() * 256)) }
            func put(_ o: Int, _ v: Double) { let h = f16(v); b[o] = h[0]; b[o + 1] = h[1] }
            switch type {
            case .q4_0, .q5_0: put(0, 0.005 + 0.02 * u())
            case .q8_0: put(0, 0.0005 + 0.002 * u())
            case .q4_1, .q5_1: put(0, 0.005 + 0.01 * u()); put(2, -0.1 + 0.05 * u())
            case .q4_K, .q5_K: put(0, 0.001 + 0.002 * u()); put(2, 0.0005 + 0.001 * u())
            case .q6_K: put(208, 0.0005 + 0.001 * u())
            case .f16: put(0, u() - 0.5)
            case .bf16: let v = Float(u() - 0.5).bitPattern >> 16; b = [UInt8(v & 0xFF), UInt8(v >> 8)]
            case .f32: b = withUnsafeBytes(of: Float(u() - 0.5).bitPattern.littleEndian) { Array($0) }
            }
            out += b
        }
        return out
    }

    static func matrix(_ type: GGMLType, rows: Int, cols: Int, seed: UInt64) throws -> QuantizedMatrix {
        try QuantizedMatrix(type: type, rows: rows, cols: cols, bytes: bytes(type, rows: rows, cols: cols, seed: seed))
    }

    static func activations(_ n: Int, _ cols: Int, seed: UInt64) -> Tensor<Float> {
        var rng = TensorRNG(seed: seed)
        return .randn([n, cols], std: 1, rng: &rng)
    }
}

@Suite(.serialized) struct QuantizedMatrixTests {
    static let blockTypes: [GGMLType] = [.q4_0, .q4_1, .q5_0, .q5_1, .q8_0]

    /// x rounded to Q8 blocks as ggml's AVX2 `quantize_row_q8_0/1` (written out in scalar form): the values d16·q.
    func roundedActivations(_ x: [Float]) -> (values: [Double], sums: [Double]) {
        var v: [Double] = [], s: [Double] = []
        for b in 0..<(x.count / 32) {
            let blk = x[(b * 32)..<(b * 32 + 32)]
            let amax = blk.map { abs($0) }.max()!
            let d = amax / 127, id: Float = amax != 0 ? 127 / amax : 0
            let q = blk.map { ($0 * id).rounded(.toNearestOrEven) }
            v += q.map { Double(Float(Float16(d))) * Double($0) }
            s.append(Double(Float(Float16(d * q.reduce(0, +)))))
        }
        return (v, s)
    }

    /// The block kernels agree with dequantised W times x rounded to Q8 (what ggml computes, up to float sums), and
    /// with dequantised W times the exact x within the bound of 8-bit activation rounding.
    @Test func blockKernelsMatchDequantisedProducts() throws {
        for (ti, type) in Self.blockTypes.enumerated() {
            let rows = 37, cols = 256
            let w = try RandomQuant.matrix(type, rows: rows, cols: cols, seed: UInt64(10 + ti))
            let wf = w.dequantized().scalars
            for n in [1, 3, 4, 9] {
                let x = RandomQuant.activations(n, cols, seed: UInt64(100 + n))
                let y = Tensor<Float>(uninitialized: [n, rows])
                w.multiply(x.pointer, n: n, into: y.pointer)
                let xs = x.scalars
                var worstQ = 0.0, worstF = 0.0
                for i in 0..<n {
                    let row = Array(xs[(i * cols)..<((i + 1) * cols)])
                    let (xq, sums) = roundedActivations(row)
                    for r in 0..<rows {
                        var refQ = 0.0, refF = 0.0, mag = 0.0, bound = 0.0
                        for j in 0..<cols {
                            let wv = Double(wf[r * cols + j])
                            refQ += wv * xq[j]; refF += wv * Double(row[j]); mag += abs(wv * xq[j])
                        }
                        for b in 0..<(cols / 32) {
                            let amax = Double(row[(b * 32)..<(b * 32 + 32)].map { abs($0) }.max()!)
                            let wsum = (0..<32).reduce(0.0) { $0 + abs(Double(wf[r * cols + b * 32 + $1])) }
                            bound += wsum * amax / 127 * 0.51
                            if type == .q4_1 || type == .q5_1 {
                                // ggml's min term is m·s with s = f16(d·Σq) (d before its f16 rounding), not m·Σ d16·q
                                let m = Double(GGMLQuant.half(w.base, (r * cols / 32 + b) * type.blockBytes + 2))
                                refQ += m * (sums[b] - xq[(b * 32)..<(b * 32 + 32)].reduce(0, +))
                            }
                        }
                        let got = Double(y.pointer[i * rows + r])
                        let tolQ = 2e-6 * mag + 1e-6
                        worstQ = max(worstQ, abs(got - refQ) / tolQ)
                        worstF = max(worstF, abs(got - refF) / (bound + 1e-5))
                    }
                }
                #expect(worstQ <= 1, "\(type.name) n=\(n): against Q8-rounded x, \(worstQ) of the tolerance")
                #expect(worstF <= 1, "\(type.name) n=\(n): against exact x, \(worstF) of the rounding bound")
            }
        }
    }

    /// K-quants and float types dequantise tiles and use sgemm: equal to the Float product up to float rounding; the
    /// sgemm path of the block types (above `sgemmThreshold`) too.
    @Test func tileDequantisedPathsMatchFloat() throws {
        for (ti, type) in [GGMLType.q4_K, .q5_K, .q6_K, .f16, .bf16, .f32, .q4_1, .q8_0].enumerated() {
            let rows = 70, cols = 512
            let w = try RandomQuant.matrix(type, rows: rows, cols: cols, seed: UInt64(40 + ti))
            let wf = w.dequantized()
            let x = RandomQuant.activations(5, cols, seed: 7)
            let y = Tensor<Float>(uninitialized: [5, rows])
            if Self.blockTypes.contains(type) { w.multiplyDequantized(x.pointer, n: 5, into: y.pointer) } else { w.multiply(x.pointer, n: 5, into: y.pointer) }
            let ref = x.matmul(wf.mT).scalars
            let scale = ref.map { abs($0) }.max()!
            let worst = zip(y.scalars, ref).map { abs($0 - $1) }.max()!
            #expect(worst <= 1e-5 * scale, "\(type.name): \(worst) against \(scale)")
        }
    }

    /// Same bits at 1 and 2 threads (forward of block and tile types, and the backward).
    /// The AVX-VNNI row tiles (`vnni.h`: unsigned weights against −c·Σx, 4×4 and 2×1 tiles with their edges) give
    /// the Swift kernels' bits for every type they cover, at decoding and prompt row counts and row counts that
    /// are not multiples of the tiles; and the shared-input path for several matrices agrees with one at a time.
    @Test func vnniTilesEqualSwiftKernels() throws {
        guard QuantizedMatrix.vnniAvailable else {
            print("skipped: this CPU has no AVX-VNNI with AVX-512 (the Swift kernels are the only path)")
            return
        }
        defer { QuantizedMatrix.useVNNI = true }
        for (ti, type) in [GGMLType.q4_0, .q4_1, .q8_0].enumerated() {
            for rows in [37, 64] {
                let w = try RandomQuant.matrix(type, rows: rows, cols: 96, seed: UInt64(90 + ti))
                let w2 = try RandomQuant.matrix(type, rows: 7, cols: 96, seed: UInt64(95 + ti))
                for n in [1, 2, 3, 4, 5, 6, 7, 9, 33] {
                    let x = RandomQuant.activations(n, 96, seed: UInt64(n))
                    var outs: [[Float]] = []
                    for vnni in [true, false] {
                        QuantizedMatrix.useVNNI = vnni
                        let y = Tensor<Float>(uninitialized: [n, rows]), y2 = Tensor<Float>(uninitialized: [n, 7])
                        w.multiply(x.pointer, n: n, into: y.pointer)
                        outs.append(y.scalars)
                        QuantizedMatrix.multiply([w, w2], x.pointer, n: n, into: [y.pointer, y2.pointer])
                        outs.append(y.scalars + y2.scalars)
                    }
                    #expect(outs[0] == outs[2], "\(type) rows \(rows) n \(n): VNNI tiles differ from the Swift kernels")
                    #expect(outs[1] == outs[3] && outs[0] == Array(outs[1].prefix(n * rows)), "\(type) rows \(rows) n \(n): shared-input path")
                }
            }
        }
    }

    @Test func threadCountDoesNotChangeResults() throws {
        defer { Parallel.setThreads(Parallel.configuredThreads) }
        var results: [[[Float]]] = []
        for threads in [1, 2] {
            Parallel.setThreads(threads)
            var r: [[Float]] = []
            for (ti, type) in [GGMLType.q4_1, .q8_0, .q5_0, .q6_K].enumerated() {
                let w = try RandomQuant.matrix(type, rows: 512, cols: 512, seed: UInt64(70 + ti))
                for n in [1, 7] {
                    let x = RandomQuant.activations(n, 512, seed: 3)
                    let y = Tensor<Float>(uninitialized: [n, 512])
                    w.multiply(x.pointer, n: n, into: y.pointer)
                    r.append(y.scalars)
                    let dx = Tensor<Float>(uninitialized: [n, 512])
                    w.multiplyTransposed(y.pointer, n: n, into: dx.pointer, accumulate: false)
                    r.append(dx.scalars)
                }
            }
            results.append(r)
        }
        #expect(results[0] == results[1])
    }

    @Test func badByteCountsAreRejected() {
        #expect(throws: QuantizedMatrixError.self) { try QuantizedMatrix(type: .q4_1, rows: 2, cols: 64, bytes: [UInt8](repeating: 0, count: 79)) }
        #expect(throws: QuantizedMatrixError.self) { try QuantizedMatrix(type: .q8_0, rows: 2, cols: 48, bytes: [UInt8](repeating: 0, count: 102)) }
        #expect(throws: QuantizedMatrixError.self) { try QuantizedMatrix(type: .q6_K, rows: 0, cols: 256, bytes: []) }
        do {
            _ = try QuantizedMatrix(type: .q4_1, rows: 2, cols: 64, bytes: [UInt8](repeating: 0, count: 79))
        } catch {
            #expect("\(error)" == "QuantizedMatrix: a 2×64 Q4_1 matrix takes 80 bytes, got 79")
        }
        #expect((try? QuantizedMatrix(type: .q4_1, rows: 2, cols: 64, bytes: [UInt8](repeating: 0, count: 80))) != nil)
    }

    /// The backward of `linear(quantized:)` gives x and the bias the gradients of the Float layer over the
    /// dequantised matrix (the forward differs only by the activation rounding, which the gradient ignores).
    @Test func linearBackwardMatchesDequantisedLayer() throws {
        for type in [GGMLType.q4_1, .q8_0, .q4_K] {
            let w = try RandomQuant.matrix(type, rows: 300, cols: 256, seed: 5)
            let wf = w.dequantized()
            var rng = TensorRNG(seed: 9)
            let x0 = Tensor<Float>.randn([2, 3, 256], std: 1, rng: &rng), b0 = Tensor<Float>.randn([300], std: 1, rng: &rng)
            let r = Tensor<Float>.randn([2, 3, 300], std: 1, rng: &rng)
            func grads(_ f: (Tensor<Float>, Tensor<Float>) -> Tensor<Float>) -> ([Float], [Float], [Float]) {
                let x = Tensor<Float>(shape: x0.shape, scalars: x0.scalars, requiresGrad: true)
                let b = Tensor<Float>(shape: b0.shape, scalars: b0.scalars, requiresGrad: true)
                // x is read twice, so the second gradient accumulates into the first
                let y = f(x, b) + f(x * 2, b)
                (y * r).sum().backward()
                return (y.scalars, x.grad!.scalars, b.grad!.scalars)
            }
            let q = grads { $0.linear(quantized: w, bias: $1) }
            let f = grads { $0.linear(weight: wf, bias: $1) }
            func close(_ a: [Float], _ b: [Float], _ tol: Float) -> Bool {
                let scale = b.map { abs($0) }.max()!
                return zip(a, b).allSatisfy { abs($0 - $1) <= tol * scale }
            }
            #expect(close(q.1, f.1, 1e-5), "\(type.name) dx")
            #expect(close(q.2, f.2, 1e-5), "\(type.name) db")
            #expect(close(q.0, f.0, type == .q4_K ? 1e-5 : 2e-2), "\(type.name) forward")
        }
    }

    /// Finite differences through the Float layer over the dequantised matrix (Double) agree with the quantised op's
    /// backward: the gradient of x·Wᵀ + b is the same linear map.
    @Test func linearGradCheckAgainstDequantisedMatrix() throws {
        let w = try RandomQuant.matrix(.q5_1, rows: 6, cols: 64, seed: 11)
        let wd = TD(shape: [6, 64], scalars: w.dequantized().scalars.map(Double.init))
        gradCheck("linear over dequantised W", [leaf([3, 64], seed: 1), leaf([6], seed: 2)]) { $0[0].linear(weight: wd, bias: $0[1]) }
        // the quantised op's dx against the Double rule dx = g·W
        var rng = TensorRNG(seed: 4)
        let x = Tensor<Float>.randn([3, 64], std: 1, rng: &rng)
        x.requiresGrad = true
        let g = Tensor<Float>.randn([3, 6], std: 1, rng: &rng)
        (x.linear(quantized: w, bias: nil) * g).sum().backward()
        let want = TD(shape: [3, 6], scalars: g.scalars.map(Double.init)).matmul(wd).scalars
        let worst = zip(x.grad!.scalars, want).map { abs(Double($0) - $1) }.max()!
        #expect(worst < 1e-5)
    }

    /// Quantised `Linear` and `Embedding`: frozen (not listed), rows and the tied head through the blocks.
    @Test func modulesHoldQuantisedWeights() throws {
        let w = try RandomQuant.matrix(.q8_0, rows: 50, cols: 64, seed: 21)
        let lin = Linear(weight: .quantized(w), bias: nil)
        #expect(lin.namedParameters().isEmpty && lin.inFeatures == 64 && lin.outFeatures == 50)
        #expect(lin.weight.scalars == w.dequantized().scalars)
        let emb = Embedding(weight: .quantized(w))
        #expect(emb.namedParameters().isEmpty)
        let rows = emb([3, 49, 0], shape: [3]).scalars
        let wf = w.dequantized().scalars
        #expect(rows == Array(wf[(3 * 64)..<(4 * 64)] + wf[(49 * 64)..<(50 * 64)] + wf[0..<64]))
        let h = RandomQuant.activations(2, 64, seed: 1)
        let logits = emb.logits(h)
        #expect(logits.shape == [2, 50] && logits.scalars == lin(h).scalars)
    }
}
