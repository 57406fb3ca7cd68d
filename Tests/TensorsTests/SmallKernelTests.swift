import CBLAS
import Foundation
import Testing
@testable import Tensors

/// The decoding step's kernels (CBLAS/smallgemm.h, CBLAS/decodeattention.h) against sums in Double, and the rule
/// that makes batching safe: a row's bits do not depend on the other rows or on how the columns are split.
@Suite struct SmallKernelTests {
    func values(_ n: Int, seed: UInt64) -> [Float] {
        var rng = TensorRNG(seed: seed)
        return Tensor<Float>.uniform([n], low: -1, high: 1, rng: &rng).scalars
    }

    @Test(.enabled(if: SmallGemm.vectorUnit, "the kernels' AVX2 code needs AVX2 and FMA")) func smallGemmMatchesDoubleSums() {
        for (m, n, k) in [(1, 1, 1), (1, 5, 7), (2, 3, 8), (3, 4, 13), (4, 7, 16), (5, 10, 33), (8, 384, 128), (16, 128, 384), (7, 2, 129)] {
            let lda = k + 3, ldb = k + 1, ldc = n + 2
            let a = values(m * lda, seed: 1), b = values(n * ldb, seed: 2), c0 = values(m * ldc, seed: 3)
            for (alpha, beta) in [(Float(1), Float(0)), (1, 1), (0.5, -2)] {
                var c = beta == 0 ? [Float](repeating: .nan, count: m * ldc) : c0  // beta 0 must not read C
                gtr_sgemm_nt_small(m, n, k, alpha, a, lda, b, ldb, beta, &c, ldc)
                for r in 0..<m { for j in 0..<n {
                    var s = 0.0
                    for p in 0..<k { s += Double(a[r * lda + p]) * Double(b[j * ldb + p]) }
                    let want = Double(alpha) * s + (beta == 0 ? 0 : Double(beta) * Double(c0[r * ldc + j]))
                    #expect(abs(Double(c[r * ldc + j]) - want) < 1e-5 * Double(k + 1), "m\(m) n\(n) k\(k) (\(r), \(j))")
                } }
            }
        }
    }

    /// Each row alone, and every column block alone, gives the bits of the whole product.
    @Test(.enabled(if: SmallGemm.vectorUnit, "the kernels' AVX2 code needs AVX2 and FMA")) func smallGemmRowsAndColumnsAreIndependent() {
        let m = 11, n = 17, k = 45
        let a = values(m * k, seed: 4), b = values(n * k, seed: 5)
        var whole = [Float](repeating: 0, count: m * n)
        gtr_sgemm_nt_small(m, n, k, 1, a, k, b, k, 0, &whole, n)
        for r in 0..<m {
            var row = [Float](repeating: 0, count: n)
            a.withUnsafeBufferPointer { gtr_sgemm_nt_small(1, n, k, 1, $0.baseAddress! + r * k, k, b, k, 0, &row, n) }
            #expect(row == Array(whole[(r * n)..<((r + 1) * n)]), "row \(r)")
        }
        for j0 in stride(from: 0, to: n, by: 5) {
            let w = min(5, n - j0)
            var block = [Float](repeating: 0, count: m * w)
            b.withUnsafeBufferPointer { gtr_sgemm_nt_small(m, w, k, 1, a, k, $0.baseAddress! + j0 * k, k, 0, &block, w) }
            for r in 0..<m { #expect(Array(block[(r * w)..<((r + 1) * w)]) == Array(whole[(r * n + j0)..<(r * n + j0 + w)])) }
        }
    }

    /// Products of up to `SmallGemm.invariantRows` rows (64) run in the small kernel's pieces: every row of a 17-,
    /// 40- or 64-row `linear` equals that row alone, bit for bit, and the pieced product agrees with Double sums.
    @Test(.enabled(if: SmallGemm.invariantRows >= 64, "the row-invariant pieces need the AVX2 kernel")) func linearUpTo64RowsKeepsEachRowsBits() {
        var rng = TensorRNG(seed: 8)
        let w = Tensor<Float>.uniform([960, 128], low: -1, high: 1, rng: &rng)
        for m in [17, 40, 64] {
            let x = Tensor<Float>.uniform([m, 128], low: -1, high: 1, rng: &rng)
            let batch = Autograd.noGrad { x.linear(weight: w, bias: nil) }.scalars
            for r in [0, 15, 16, m / 2, m - 1] {
                let one = Autograd.noGrad { x.slice(axis: 0, r, r + 1).linear(weight: w, bias: nil) }.scalars
                #expect(one == Array(batch[(r * 960)..<((r + 1) * 960)]), "row \(r) of \(m)")
                let xs = x.scalars, ws = w.scalars
                for j in [0, 477, 959] {
                    var sum = 0.0
                    for p in 0..<128 { sum += Double(xs[r * 128 + p]) * Double(ws[j * 128 + p]) }
                    #expect(abs(Double(batch[r * 960 + j]) - sum) < 1e-4 * (1 + abs(sum)))
                }
            }
        }
    }

    /// `Tensor.linear` on a batch of decoding rows: the small-rows path agrees with OpenBLAS, and each row of a batch
    /// of 8 equals that row run alone, bit for bit.
    @Test func linearOnFewRowsAgreesWithBLASAndBatching() {
        var rng = TensorRNG(seed: 6)
        let w = Tensor<Float>.uniform([384, 128], low: -1, high: 1, rng: &rng)
        let bias = Tensor<Float>.uniform([384], low: -1, high: 1, rng: &rng)
        let x = Tensor<Float>.uniform([8, 128], low: -1, high: 1, rng: &rng)
        let batch = Autograd.noGrad { x.linear(weight: w, bias: bias) }.scalars
        for r in 0..<8 {
            let one = Autograd.noGrad { x.slice(axis: 0, r, r + 1).linear(weight: w, bias: bias) }.scalars
            #expect(one == Array(batch[(r * 384)..<((r + 1) * 384)]))
        }
        // OpenBLAS on the same product (called directly: flipping SmallGemm.maxRows would race other suites)
        var blas = [Float](repeating: 0, count: 8 * 384)
        for r in 0..<8 { for j in 0..<384 { blas[r * 384 + j] = bias.scalars[j] } }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, 8, 384, 128, 1, x.scalars, 128, w.scalars, 128, 1, &blas, 384)
        #expect(zip(batch, blas).allSatisfy { abs($0 - $1) < 1e-4 })
    }

    @Test(.enabled(if: SmallGemm.vectorUnit, "the kernels' AVX2 code needs AVX2 and FMA")) func oneQueryAttentionMatchesDoubleSums() {
        for (n, d, dv) in [(1, 32, 32), (7, 32, 32), (8, 32, 32), (19, 40, 36), (200, 32, 64), (3, 5, 3), (16, 8, 8)] {
            let ld = max(d, dv) + 4
            let q = values(d, seed: 7), k = values(n * ld, seed: 8), v = values(n * ld, seed: 9)
            var s = [Float](repeating: 0, count: n)
            gtr_attn_scores(q, k, ld, n, d, 0.25, &s)
            for j in 0..<n {
                var t = 0.0
                for i in 0..<d { t += Double(q[i]) * Double(k[j * ld + i]) }
                #expect(abs(Double(s[j]) - 0.25 * t) < 1e-5 * Double(d), "scores n\(n) d\(d) key \(j)")
            }
            let p = values(n, seed: 10)
            var o = [Float](repeating: .nan, count: dv)
            gtr_attn_mix(p, v, ld, n, dv, &o)
            for i in 0..<dv {
                var t = 0.0
                for j in 0..<n { t += Double(p[j]) * Double(v[j * ld + i]) }
                #expect(abs(Double(o[i]) - t) < 1e-5 * Double(n), "mix n\(n) dv\(dv) out \(i)")
            }
        }
    }

    /// The causal-block kernel (CBLAS/attentionblock.h): every operand layout attention uses (A row-major or
    /// transposed, B row-major or transposed and packed, a prefix of the packed rows), beta 0 (C not read) and 1,
    /// against sums in Double; and a row's bits alone equal its bits among m rows.
    @Test(.enabled(if: SmallGemm.vectorUnit, "the kernels' AVX2 code needs AVX2 and FMA")) func attentionBlockKernelMatchesDoubleSums() {
        for (m, n, k) in [(1, 1, 1), (3, 5, 7), (6, 16, 32), (64, 129, 32), (64, 32, 200), (130, 40, 64), (11, 17, 9), (5, 33, 4)] {
            for (aT, bT) in [(false, false), (true, false), (false, true), (true, true)] {
                let lda = (aT ? m : k) + 3, ldb = (bT ? k : n) + 2, ldc = n + 1, p0 = 2  // B's rows start at p0 of the packed operand
                let a = values((aT ? k : m) * lda, seed: 11), b = values((bT ? n : k + p0) * ldb, seed: 12), c0 = values(m * ldc, seed: 13)
                let ars = aT ? 1 : lda, acs = aT ? lda : 1
                let brs = bT ? 1 : ldb, bcs = bT ? ldb : 1
                // packed B holds rows 0 ..< k + p0 (transposed: its columns hold them)
                let rows = k + p0
                var packed = [Float](repeating: .nan, count: 16 * rows * ((n + 15) / 16))
                gtr_attn_pack(rows, n, b, brs, bcs, &packed)
                func B(_ p: Int, _ j: Int) -> Double { Double(b[(p + p0) * brs + j * bcs]) }
                func A(_ r: Int, _ p: Int) -> Double { Double(a[r * ars + p * acs]) }
                for (alpha, beta) in [(Float(1), Float(0)), (0.5, 1)] {
                    var c = beta == 0 ? [Float](repeating: .nan, count: m * ldc) : c0
                    packed.withUnsafeBufferPointer { pb in
                        gtr_attn_block_gemm(m, n, k, alpha, a, ars, acs, pb.baseAddress! + 16 * p0, 16 * rows, beta, &c, ldc)
                    }
                    var worst = 0.0
                    for r in 0..<m { for j in 0..<n {
                        var t = 0.0
                        for p in 0..<k { t += A(r, p) * B(p, j) }
                        let want = Double(alpha) * t + (beta == 0 ? 0 : Double(c0[r * ldc + j]))
                        worst = max(worst, abs(Double(c[r * ldc + j]) - want))
                    } }
                    #expect(worst < 1e-5 * Double(k + 1), "m\(m) n\(n) k\(k) aT \(aT) bT \(bT) beta \(beta): off by \(worst)")
                    if beta == 0 {
                        for r in [0, m / 2, m - 1] {
                            var row = [Float](repeating: 0, count: n)
                            a.withUnsafeBufferPointer { ab in
                                packed.withUnsafeBufferPointer { pb in
                                    gtr_attn_block_gemm(1, n, k, alpha, ab.baseAddress! + r * ars, ars, acs, pb.baseAddress! + 16 * p0, 16 * rows, 0, &row, n)
                                }
                            }
                            #expect(row == Array(c[(r * ldc)..<(r * ldc + n)]), "row \(r) alone, m\(m) n\(n) k\(k)")
                        }
                    }
                }
            }
        }
    }

    /// Float attention (the causal-block kernel, forward and backward) against the same attention in Double
    /// (whose products are plain loops, checked against finite differences in GradCheck): three causal blocks, a
    /// cache offset, grouped heads, a padded row, and a transposed q view.
    @Test func floatAttentionAgreesWithDouble() {
        var rng = TensorRNG(seed: 21)
        let (b, hq, hkv, t, s, d, dv) = (2, 4, 2, 130, 134, 32, 24)
        let qs = Tensor<Float>.uniform([b, t, hq, d], low: -1, high: 1, rng: &rng).scalars
        let ks = Tensor<Float>.uniform([b, hkv, s, d], low: -1, high: 1, rng: &rng).scalars
        let vs = Tensor<Float>.uniform([b, hkv, s, dv], low: -1, high: 1, rng: &rng).scalars
        let gs = Tensor<Float>.uniform([b, hq, t, dv], low: -1, high: 1, rng: &rng).scalars
        func run<S: TensorScalar>(_: S.Type) -> [[Double]] {
            let q = Tensor<S>(shape: [b, t, hq, d], scalars: qs.map { S(Double($0)) }, requiresGrad: true)
            let k = Tensor<S>(shape: [b, hkv, s, d], scalars: ks.map { S(Double($0)) }, requiresGrad: true)
            let v = Tensor<S>(shape: [b, hkv, s, dv], scalars: vs.map { S(Double($0)) }, requiresGrad: true)
            let g = Tensor<S>(shape: [b, hq, t, dv], scalars: gs.map { S(Double($0)) })
            let out = Tensor.attention(q: q.transpose(1, 2), k: k, v: v, causal: true, keyStart: [0, 5])
            (out * g).sum().backward()
            return [out.scalars, q.grad!.scalars, k.grad!.scalars, v.grad!.scalars].map { $0.map { Double($0) } }
        }
        let f = run(Float.self), dd = run(Double.self)
        for (name, x, y) in zip4(["out", "dq", "dk", "dv"], f, dd) {
            let scale = y.map(abs).max() ?? 1
            let worst = zip(x, y).map { abs($0 - $1) }.max() ?? 0
            #expect(worst < 1e-5 * max(1, scale), "\(name): off by \(worst) (largest \(scale))")
        }
    }

    func zip4(_ a: [String], _ b: [[Double]], _ c: [[Double]]) -> [(String, [Double], [Double])] {
        (0..<a.count).map { (a[$0], b[$0], c[$0]) }
    }
}
