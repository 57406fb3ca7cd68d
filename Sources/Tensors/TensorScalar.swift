import CBLAS
import Foundation

/// The element types a `Tensor` can hold. `Float` is what models run in; `Double` exists so that every gradient
/// rule can be checked against finite differences without float32 rounding drowning the comparison.
///
/// Hot loops live behind these requirements (or in kernels pre-specialised for both types), so generic tensor
/// code never pays for generic arithmetic per element.
public protocol TensorScalar: BinaryFloatingPoint, SIMDScalar, Sendable, Codable, LosslessStringConvertible {
    /// C = alpha·op(A)·op(B) + beta·C, row-major, through OpenBLAS (`cblas_sgemm` / `cblas_dgemm`) on the calling
    /// thread. Kernels call `gemm`, which splits large products over the worker pool.
    static func blasGemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Self,
                     a: UnsafePointer<Self>, lda: Int, b: UnsafePointer<Self>, ldb: Int,
                     beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int)
    /// Rows of an `A·Bᵀ` product that `blasGemm` computes with each row's bits independent of the other rows
    /// (Float: `SmallGemm.maxRows`; Double: 0). `gemm` runs products of up to four times that many rows in
    /// pieces of it (`SmallGemm.invariantRows`).
    static var rowInvariantRows: Int { get }
    /// y = alpha·op(A)·x + beta·y for row-major A (m × n), unit strides (`cblas_sgemv` / `cblas_dgemv`).
    static func blasGemv(trans: Bool, m: Int, n: Int, alpha: Self, a: UnsafePointer<Self>, lda: Int,
                         x: UnsafePointer<Self>, beta: Self, y: UnsafeMutablePointer<Self>)
    /// One query's attention scores s[j] = scale·(K_j · q) for keys j < n (rows ldk apart): a decoding step.
    /// Float: `gtr_attn_scores` (CBLAS/decodeattention.h); Double: gemv.
    static func queryScores(_ q: UnsafePointer<Self>, keys: UnsafePointer<Self>, ldk: Int, n: Int, d: Int, scale: Self,
                            into s: UnsafeMutablePointer<Self>)
    /// o[i] = Σ_j p[j]·V_j[i] for keys j < n (rows ldv apart), i < dv: a decoding step's weighted values.
    static func weightedValues(_ p: UnsafePointer<Self>, values: UnsafePointer<Self>, ldv: Int, n: Int, dv: Int,
                               into o: UnsafeMutablePointer<Self>)
    /// Packs B(p, j) = b[p·brs + j·bcs] (p < k, j < n) for `blockProduct`: strips of 16 columns of k rows each,
    /// dst[(j / 16)·16k + 16p + j % 16], zero past column n; dst holds 16·k·⌈n / 16⌉ (`gtr_attn_pack`).
    static func packBlockOperand(k: Int, n: Int, b: UnsafePointer<Self>, brs: Int, bcs: Int, into dst: UnsafeMutablePointer<Self>)
    /// C (m × n) = alpha·A·B + beta·C (beta 0 or 1) with A(r, p) = a[r·ars + p·acs] and B packed by
    /// `packBlockOperand`, strips `ss` apart: the products of a block of causal attention (CBLAS/attentionblock.h).
    static func blockProduct(m: Int, n: Int, k: Int, alpha: Self, a: UnsafePointer<Self>, ars: Int, acs: Int,
                             packed: UnsafePointer<Self>, ss: Int, beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int)
    /// y[i] = exp(x[i]); vectorised for Float. `x` and `y` may alias.
    static func expArray(_ x: UnsafePointer<Self>, _ y: UnsafeMutablePointer<Self>, _ n: Int)
    /// y[i] = tanh(x[i]); vectorised for Float. `x` and `y` may alias.
    static func tanhArray(_ x: UnsafePointer<Self>, _ y: UnsafeMutablePointer<Self>, _ n: Int)
    static func exp(_ x: Self) -> Self
    static func log(_ x: Self) -> Self
    static func tanh(_ x: Self) -> Self
    static func pow(_ x: Self, _ y: Self) -> Self
    static func cos(_ x: Self) -> Self
    static func sin(_ x: Self) -> Self
    /// Bytes of one element in safetensors' dtype naming ("F32" / "F64").
    static var dtypeName: String { get }
}

extension Float: TensorScalar {
    public static func queryScores(_ q: UnsafePointer<Float>, keys: UnsafePointer<Float>, ldk: Int, n: Int, d: Int, scale: Float,
                                   into s: UnsafeMutablePointer<Float>) {
        if SmallGemm.vectorUnit { gtr_attn_scores(q, keys, ldk, n, d, scale, s); return }
        blasGemv(trans: false, m: n, n: d, alpha: scale, a: keys, lda: ldk, x: q, beta: 0, y: s)
    }
    public static func weightedValues(_ p: UnsafePointer<Float>, values: UnsafePointer<Float>, ldv: Int, n: Int, dv: Int,
                                      into o: UnsafeMutablePointer<Float>) {
        if SmallGemm.vectorUnit { gtr_attn_mix(p, values, ldv, n, dv, o); return }
        blasGemv(trans: true, m: n, n: dv, alpha: 1, a: values, lda: ldv, x: p, beta: 0, y: o)
    }
    public static var rowInvariantRows: Int { SmallGemm.maxRows }
    public static func blasGemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                            a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                            beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        if !transA && transB && m <= SmallGemm.maxRows {
            // a few rows against a weight in its (out, in) layout: no packing (CBLAS/smallgemm.h)
            gtr_sgemm_nt_small(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
            return
        }
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
    public static func packBlockOperand(k: Int, n: Int, b: UnsafePointer<Float>, brs: Int, bcs: Int, into dst: UnsafeMutablePointer<Float>) {
        gtr_attn_pack(k, n, b, brs, bcs, dst)
    }
    public static func blockProduct(m: Int, n: Int, k: Int, alpha: Float, a: UnsafePointer<Float>, ars: Int, acs: Int,
                                    packed: UnsafePointer<Float>, ss: Int, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        if SmallGemm.vectorUnit { gtr_attn_block_gemm(m, n, k, alpha, a, ars, acs, packed, ss, beta, c, ldc); return }
        blockProductPortable(m: m, n: n, k: k, alpha: alpha, a: a, ars: ars, acs: acs, packed: packed, ss: ss, beta: beta, c: c, ldc: ldc)
    }
    public static func blasGemv(trans: Bool, m: Int, n: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int,
                                x: UnsafePointer<Float>, beta: Float, y: UnsafeMutablePointer<Float>) {
        cblas_sgemv(CblasRowMajor, trans ? CblasTrans : CblasNoTrans, Int32(m), Int32(n), alpha, a, Int32(lda), x, 1, beta, y, 1)
    }
    public static func expArray(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) { SIMDMath.exp(x, y, n) }
    public static func tanhArray(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) { SIMDMath.tanh(x, y, n) }
    public static func exp(_ x: Float) -> Float { Foundation.exp(x) }
    public static func log(_ x: Float) -> Float { Foundation.log(x) }
    public static func tanh(_ x: Float) -> Float { Foundation.tanh(x) }
    public static func pow(_ x: Float, _ y: Float) -> Float { Foundation.pow(x, y) }
    public static func cos(_ x: Float) -> Float { Foundation.cos(x) }
    public static func sin(_ x: Float) -> Float { Foundation.sin(x) }
    public static var dtypeName: String { "F32" }
}

extension Double: TensorScalar {
    public static func queryScores(_ q: UnsafePointer<Double>, keys: UnsafePointer<Double>, ldk: Int, n: Int, d: Int, scale: Double,
                                   into s: UnsafeMutablePointer<Double>) {
        blasGemv(trans: false, m: n, n: d, alpha: scale, a: keys, lda: ldk, x: q, beta: 0, y: s)
    }
    public static func weightedValues(_ p: UnsafePointer<Double>, values: UnsafePointer<Double>, ldv: Int, n: Int, dv: Int,
                                      into o: UnsafeMutablePointer<Double>) {
        blasGemv(trans: true, m: n, n: dv, alpha: 1, a: values, lda: ldv, x: p, beta: 0, y: o)
    }
    public static var rowInvariantRows: Int { 0 }
    public static func blasGemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Double,
                            a: UnsafePointer<Double>, lda: Int, b: UnsafePointer<Double>, ldb: Int,
                            beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int) {
        cblas_dgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
    public static func packBlockOperand(k: Int, n: Int, b: UnsafePointer<Double>, brs: Int, bcs: Int, into dst: UnsafeMutablePointer<Double>) {
        for j in 0..<((n + 15) / 16 * 16) {
            for p in 0..<k { dst[(j / 16) * 16 * k + 16 * p + j % 16] = j < n ? b[p * brs + j * bcs] : 0 }
        }
    }
    public static func blockProduct(m: Int, n: Int, k: Int, alpha: Double, a: UnsafePointer<Double>, ars: Int, acs: Int,
                                    packed: UnsafePointer<Double>, ss: Int, beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int) {
        blockProductPortable(m: m, n: n, k: k, alpha: alpha, a: a, ars: ars, acs: acs, packed: packed, ss: ss, beta: beta, c: c, ldc: ldc)
    }
    public static func blasGemv(trans: Bool, m: Int, n: Int, alpha: Double, a: UnsafePointer<Double>, lda: Int,
                                x: UnsafePointer<Double>, beta: Double, y: UnsafeMutablePointer<Double>) {
        cblas_dgemv(CblasRowMajor, trans ? CblasTrans : CblasNoTrans, Int32(m), Int32(n), alpha, a, Int32(lda), x, 1, beta, y, 1)
    }
    public static func expArray(_ x: UnsafePointer<Double>, _ y: UnsafeMutablePointer<Double>, _ n: Int) {
        for i in 0..<n { y[i] = Foundation.exp(x[i]) }
    }
    public static func tanhArray(_ x: UnsafePointer<Double>, _ y: UnsafeMutablePointer<Double>, _ n: Int) {
        for i in 0..<n { y[i] = Foundation.tanh(x[i]) }
    }
    public static func exp(_ x: Double) -> Double { Foundation.exp(x) }
    public static func log(_ x: Double) -> Double { Foundation.log(x) }
    public static func tanh(_ x: Double) -> Double { Foundation.tanh(x) }
    public static func pow(_ x: Double, _ y: Double) -> Double { Foundation.pow(x, y) }
    public static func cos(_ x: Double) -> Double { Foundation.cos(x) }
    public static func sin(_ x: Double) -> Double { Foundation.sin(x) }
    public static var dtypeName: String { "F64" }
}

extension TensorScalar {
    /// `blockProduct` as plain loops (Double, and CPUs without AVX2): the same chains as the kernel's.
    static func blockProductPortable(m: Int, n: Int, k: Int, alpha: Self, a: UnsafePointer<Self>, ars: Int, acs: Int,
                                     packed: UnsafePointer<Self>, ss: Int, beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int) {
        for r in 0..<m {
            for j in 0..<n {
                let col = packed + (j / 16) * ss + j % 16
                var t: Self = 0
                for p in 0..<k { t = t.addingProduct(a[r * ars + p * acs], col[16 * p]) }  // fused, as the kernel's FMA
                t *= alpha
                c[r * ldc + j] = beta != 0 ? c[r * ldc + j] + t : t
            }
        }
    }

    /// C = alpha·op(A)·op(B) + beta·C, row-major, cut into blocks of C that the worker pool shares out.
    ///
    /// The cut depends only on the shapes, never on the thread count, so C has the same bits at any thread count
    /// (OpenBLAS may choose a different kernel for a different block shape, so this matters): blocks of 64 rows or
    /// columns of C along its longer side (128 when that side exceeds 512, 256 beyond 1024; 384 = 6 blocks keeps
    /// two threads even where 3 blocks would leave one idle a third of the time), and for a product of a few rows (a
    /// decoding step) blocks of 128 columns (run by `SmallGemm`'s kernel up to its row count, else by OpenBLAS, whose
    /// SkylakeX build has unpacked small-matrix kernels of its own). Each block is one call computing every element
    /// as the same K-long sum. An `A·Bᵀ` product of up to 4 × `rowInvariantRows` rows runs in pieces of that many
    /// rows, so each row's bits do not depend on how many rows share the product (batched generation cuts a batch
    /// into groups on that guarantee). Products under `Parallel.minimumParallelWork` multiply-adds stay on the
    /// calling thread.
    @inline(__always)
    public static func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Self,
                            a: UnsafePointer<Self>, lda: Int, b: UnsafePointer<Self>, ldb: Int,
                            beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int) {
        let piece = !transA && transB && m > rowInvariantRows && m <= 4 * rowInvariantRows ? rowInvariantRows : m
        let few = m <= 32 || piece < m
        let byRows = !few && m >= n
        let extent = byRows ? m : n
        let block = few ? 128 : (extent <= 512 ? 64 : extent <= 1024 ? 128 : 256)
        let blocks = (extent + block - 1) / block
        let work = m * n * k
        // columns lo..<hi of op(B) and C, all rows (in pieces)
        let columns: (Int, Int) -> Void = { lo, hi in
            var r = 0
            while r < m {
                let rows = Swift.min(piece, m - r)
                blasGemm(transA: transA, transB: transB, m: rows, n: hi - lo, k: k, alpha: alpha, a: a + (transA ? r : r * lda), lda: lda,
                         b: b + (transB ? lo * ldb : lo), ldb: ldb, beta: beta, c: c + r * ldc + lo, ldc: ldc)
                r += rows
            }
        }
        if blocks <= 1 || work < Parallel.minimumParallelWork {
            columns(0, n)
            return
        }
        let one: (Int) -> Void = { p in
            let lo = p * block, hi = Swift.min(extent, lo + block)
            if byRows {
                // rows lo..<hi of op(A) and C
                blasGemm(transA: transA, transB: transB, m: hi - lo, n: n, k: k, alpha: alpha,
                         a: a + (transA ? lo : lo * lda), lda: lda, b: b, ldb: ldb, beta: beta, c: c + lo * ldc, ldc: ldc)
            } else {
                columns(lo, hi)
            }
        }
        Parallel.run(chunks: blocks, work: work, one)
    }
}
