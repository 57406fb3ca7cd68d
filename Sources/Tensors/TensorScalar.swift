import CBLAS
import Foundation

/// The element types a `Tensor` can hold. `Float` is what models run in; `Double` exists so that every gradient
/// rule can be checked against finite differences without float32 rounding drowning the comparison.
///
/// Hot loops live behind these requirements (or in kernels pre-specialised for both types), so generic tensor
/// code never pays for generic arithmetic per element.
public protocol TensorScalar: BinaryFloatingPoint, SIMDScalar, Sendable, Codable, LosslessStringConvertible {
    /// C = alpha·op(A)·op(B) + beta·C, row-major, through OpenBLAS (`cblas_sgemm` / `cblas_dgemm`).
    static func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Self,
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
    public static func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
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
    public static func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Double,
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
