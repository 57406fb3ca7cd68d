import CBLAS
import Foundation

/// Float products C = alpha·A·Bᵀ + beta·C with at most `maxRows` rows of A (a decoding step's activations against a
/// linear layer's weight) run in `gtr_sgemm_nt_small`, which reads B where it is instead of packing it as OpenBLAS
/// does on every call: 4-6× faster for one row, 1.7-2.2× for eight, 1.3-1.5× at 16 (CBLAS/smallgemm.h; A/B with
/// `gtr-bench small-gemm`). Each output's arithmetic is the same whatever the row count and column split, so a row
/// gets the same bits alone or in a batch and at any thread count; products of up to four times that many rows run
/// in pieces of it (`invariantRows`). `GTR_SMALL_GEMM_ROWS=0` turns it off.
public enum SmallGemm {
    /// Whether this CPU runs the kernels' AVX2 + FMA code (they are compiled for it on every x86-64 build; a CPU
    /// without it keeps OpenBLAS for these products).
    public static let vectorUnit = gtr_cpu_has_avx2_fma() != 0
    nonisolated(unsafe) public static var maxRows: Int = {
        guard vectorUnit else { return 0 }
        guard let v = ProcessInfo.processInfo.environment["GTR_SMALL_GEMM_ROWS"], let n = Int(v) else { return 16 }
        return n
    }()
    /// Rows up to which a Float `A·Bᵀ` product (`TensorScalar.gemm`) runs in this kernel, in pieces of `maxRows`,
    /// so that each row's bits do not depend on how many rows share the product: batched generation relies on it
    /// to cut a batch into groups without changing a bit. 0 where the kernel is off.
    public static var invariantRows: Int { 4 * Float.rowInvariantRows }
}
