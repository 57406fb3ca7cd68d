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
    public static func blasGemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                            a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                            beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
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
    public static func blasGemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Double,
                            a: UnsafePointer<Double>, lda: Int, b: UnsafePointer<Double>, ldb: Int,
                            beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int) {
        cblas_dgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
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
    /// C = alpha·op(A)·op(B) + beta·C, row-major. Products above about a million multiply-adds are cut into one
    /// block of C rows (or columns, when C is wide) per pool thread; each block is an independent BLAS call on its
    /// own thread, so every element of C is still the same K-long sum.
    @inline(__always)
    public static func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Self,
                            a: UnsafePointer<Self>, lda: Int, b: UnsafePointer<Self>, ldb: Int,
                            beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int) {
        let threads = Parallel.threads
        if threads == 1 || m * n * k < 1 << 20 || (m < 32 && n < 32) {
            blasGemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
                     beta: beta, c: c, ldc: ldc)
            return
        }
        let byRows = m >= n
        let extent = byRows ? m : n
        let parts = Swift.min(threads, Swift.max(1, extent / 16))
        // block boundaries on multiples of 16 (whole register tiles)
        let cut = (0...parts).map { p in p == parts ? extent : (extent * p / parts) / 16 * 16 }
        Parallel.pool.run(chunks: parts) { p in
            let lo = cut[p], hi = cut[p + 1]
            if hi <= lo { return }
            if byRows {
                // rows lo..<hi of op(A) and C
                blasGemm(transA: transA, transB: transB, m: hi - lo, n: n, k: k, alpha: alpha,
                         a: a + (transA ? lo : lo * lda), lda: lda, b: b, ldb: ldb, beta: beta, c: c + lo * ldc, ldc: ldc)
            } else {
                // columns lo..<hi of op(B) and C
                blasGemm(transA: transA, transB: transB, m: m, n: hi - lo, k: k, alpha: alpha, a: a, lda: lda,
                         b: b + (transB ? lo * ldb : lo), ldb: ldb, beta: beta, c: c + lo, ldc: ldc)
            }
        }
    }
}
