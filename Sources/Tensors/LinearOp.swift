/// The fused affine map of every `Linear` layer: y = x·Wᵀ + b in one GEMM whose output starts as the bias rows
/// (beta = 1), so the bias add costs no extra pass and the result has the same bits as matmul-then-add. The
/// backward writes dW in W's own (out, in) layout (no transposed copy) and sums db over rows in fixed pieces.
extension Tensor {
    /// x: (..., in), weight: (out, in), bias: (out) → (..., out).
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func linear(weight: Tensor, bias: Tensor?) -> Tensor {
        let fin = shape.last!, fout = weight.shape[0]
        precondition(weight.rank == 2 && weight.shape[1] == fin, "linear: input \(shape) against weight \(weight.shape)")
        precondition(bias == nil || bias!.shape == [fout], "linear: bias must be (\(fout))")
        let x = contiguousNoGrad(), w = weight.contiguousNoGrad(), b = bias?.contiguousNoGrad()
        let n = count / Swift.max(fin, 1)
        let out = Tensor(uninitialized: Array(shape.dropLast()) + [fout])
        let po = out.pointer
        if let b {
            let pb = b.pointer
            Parallel.forEach(n, grain: 256) { r in for i in r { (po + i * fout).update(from: pb, count: fout) } }
        }
        // out: (N, out) = x: (N, in) · Wᵀ: (in, out) [+ out]
        S.gemm(transA: false, transB: true, m: n, n: fout, k: fin, alpha: 1, a: x.pointer, lda: fin, b: w.pointer, ldb: fin,
               beta: b == nil ? 0 : 1, c: po, ldc: fout)
        let inputs = bias.map { [self, weight, $0] } ?? [self, weight]
        return out.record("linear", inputs) { g in
            // y = x·Wᵀ + b  →  dx = g·W ; dW = gᵀ·x ; db = Σ_rows g
            if self.needsGrad {
                if let into = self.grad, !self.gradShared {
                    // x already has a gradient of its own (q, k and v read the same x): accumulate in the GEMM
                    S.gemm(transA: false, transB: false, m: n, n: fin, k: fout, alpha: 1, a: g.pointer, lda: fout, b: w.pointer, ldb: fin,
                           beta: 1, c: into.pointer, ldc: fin)
                } else {
                    let gx = Tensor(uninitialized: self.shape)
                    S.gemm(transA: false, transB: false, m: n, n: fin, k: fout, alpha: 1, a: g.pointer, lda: fout, b: w.pointer, ldb: fin,
                           beta: 0, c: gx.pointer, ldc: fin)
                    self.takeOrAccumulateGrad(gx)
                }
            }
            if weight.needsGrad {
                let gw = Tensor(uninitialized: [fout, fin])
                S.gemm(transA: true, transB: false, m: fout, n: fin, k: n, alpha: 1, a: g.pointer, lda: fout, b: x.pointer, ldb: fin,
                       beta: 0, c: gw.pointer, ldc: fin)
                weight.accumulateGrad(gw)
            }
            if let bias, bias.needsGrad { bias.accumulateGrad(Kernels.columnSums(g.pointer, rows: n, cols: fout)) }
        }
    }
}
