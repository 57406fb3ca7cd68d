/// y = x·Wᵀ + b for a frozen quantised W (`QuantizedMatrix`): the forward pass runs on W's blocks, the backward
/// gives x (and b) their gradients, never W, so LoRA adapters train through a quantised base model.
extension Tensor where S == Float {
    /// x: (..., in), weight: (out, in) quantised, bias: (out) → (..., out).
    public func linear(quantized weight: QuantizedMatrix, bias: Tensor?) -> Tensor {
        let fin = shape.last!, fout = weight.rows
        precondition(weight.cols == fin, "linear: input \(shape) against quantised weight \(weight.shape)")
        precondition(bias == nil || bias!.shape == [fout], "linear: bias must be (\(fout))")
        let x = contiguousNoGrad(), b = bias?.contiguousNoGrad()
        let n = count / Swift.max(fin, 1)
        let out = Tensor(uninitialized: Array(shape.dropLast()) + [fout])
        // out: (n, out) = x: (n, in) · Wᵀ
        weight.multiply(x.pointer, n: n, into: out.pointer)
        if let b {
            let po = out.pointer, pb = b.pointer
            for i in 0..<n { for j in 0..<fout { po[i * fout + j] += pb[j] } }
        }
        let inputs = bias.map { [self, $0] } ?? [self]
        return out.record("linear_quantized", inputs) { g in
            // y = x·Wᵀ + b  →  dx = g·W (W dequantised tile by tile) ; db = Σ_rows g
            if self.needsGrad {
                if let into = self.grad, !self.gradShared {
                    weight.multiplyTransposed(g.pointer, n: n, into: into.pointer, accumulate: true)
                } else {
                    let gx = Tensor(uninitialized: self.shape)
                    weight.multiplyTransposed(g.pointer, n: n, into: gx.pointer, accumulate: false)
                    self.takeOrAccumulateGrad(gx)
                }
            }
            if let bias, bias.needsGrad { bias.accumulateGrad(Kernels.columnSums(g.pointer, rows: n, cols: fout)) }
        }
    }
}
