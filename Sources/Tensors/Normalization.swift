/// LayerNorm and RMSNorm over the last axis, fused: one pass forward, one pass backward, statistics in S.
/// Rows run in parallel on the worker pool; the weight and bias gradients are summed in fixed pieces of
/// `Kernels.columnPiece` rows and combined in piece order, so the bits do not depend on the thread count.
extension Tensor {
    /// y = (x − μ)/√(σ² + eps) · weight + bias, weight/bias of shape (C).
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func layerNorm(weight: Tensor, bias: Tensor?, eps: S = 1e-5) -> Tensor {
        let c = shape.last!, rows = count / c
        precondition(weight.shape == [c] && (bias == nil || bias!.shape == [c]), "layerNorm: weight must be (\(c))")
        let x = contiguousNoGrad(), w = weight.contiguousNoGrad(), b = bias?.contiguousNoGrad()
        let out = Tensor(uninitialized: shape)
        let xhat = Tensor(uninitialized: shape)
        let rstd = Tensor(uninitialized: [rows])
        let pw = w.pointer, pb = b?.pointer
        Parallel.forEach(rows, grain: 64) { range in
            for r in range {
                let px = x.pointer + r * c, ph = xhat.pointer + r * c, py = out.pointer + r * c
                let mean = Kernels.rowSum(px, c) / S(c)
                for i in 0..<c { ph[i] = px[i] - mean }
                let rs = 1 / (Kernels.dot(ph, ph, c) / S(c) + eps).squareRoot()
                rstd.pointer[r] = rs
                for i in 0..<c { ph[i] *= rs }
                if let pb { for i in 0..<c { py[i] = ph[i] * pw[i] + pb[i] } } else { for i in 0..<c { py[i] = ph[i] * pw[i] } }
            }
        }
        let inputs = bias.map { [self, weight, $0] } ?? [self, weight]
        return out.record("layerNorm", inputs) { g in
            let gx = Tensor(uninitialized: self.shape)
            let pieces = Swift.max(1, (rows + Kernels.columnPiece - 1) / Kernels.columnPiece)
            let partW = Tensor(uninitialized: [pieces, c]), partB = Tensor(uninitialized: [pieces, c])
            Parallel.pieces(rows, piece: Kernels.columnPiece) { piece, range in
                let gw = partW.pointer + piece * c, gb = partB.pointer + piece * c
                gw.update(repeating: 0, count: c); gb.update(repeating: 0, count: c)
                let dxh = UnsafeMutablePointer<S>.allocate(capacity: c)
                defer { dxh.deallocate() }
                for r in range {
                    let pg = g.pointer + r * c, ph = xhat.pointer + r * c, pd = gx.pointer + r * c
                    // y = x̂·w + b  →  dx̂ = g·w ; dx = rstd·(dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂))
                    for i in 0..<c { dxh[i] = pg[i] * pw[i]; gw[i] += pg[i] * ph[i]; gb[i] += pg[i] }
                    let m1 = Kernels.rowSum(dxh, c) / S(c), m2 = Kernels.dot(dxh, ph, c) / S(c)
                    let rs = rstd.pointer[r]
                    for i in 0..<c { pd[i] = rs * (dxh[i] - m1 - ph[i] * m2) }
                }
            }
            self.accumulateGrad(gx)
            if weight.needsGrad { weight.accumulateGrad(Kernels.sumPieces(partW)) }
            if let bias, bias.needsGrad { bias.accumulateGrad(Kernels.sumPieces(partB)) }
        }
    }

    /// y = x / √(mean(x²) + eps) · weight (llama / SmolLM2).
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func rmsNorm(weight: Tensor, eps: S = 1e-5) -> Tensor {
        let c = shape.last!, rows = count / c
        precondition(weight.shape == [c], "rmsNorm: weight must be (\(c))")
        let x = contiguousNoGrad(), w = weight.contiguousNoGrad()
        let out = Tensor(uninitialized: shape)
        let rstd = Tensor(uninitialized: [rows])
        let pw = w.pointer
        Parallel.forEach(rows, grain: 64) { range in
            for r in range {
                let px = x.pointer + r * c, py = out.pointer + r * c
                let rs = 1 / (Kernels.dot(px, px, c) / S(c) + eps).squareRoot()
                rstd.pointer[r] = rs
                for i in 0..<c { py[i] = px[i] * rs * pw[i] }
            }
        }
        return out.record("rmsNorm", [self, weight]) { g in
            let gx = Tensor(uninitialized: self.shape)
            let pieces = Swift.max(1, (rows + Kernels.columnPiece - 1) / Kernels.columnPiece)
            let partW = Tensor(uninitialized: [pieces, c])
            Parallel.pieces(rows, piece: Kernels.columnPiece) { piece, range in
                let gw = partW.pointer + piece * c
                gw.update(repeating: 0, count: c)
                let gwx = UnsafeMutablePointer<S>.allocate(capacity: c)
                defer { gwx.deallocate() }
                for r in range {
                    let px = x.pointer + r * c, pg = g.pointer + r * c, pd = gx.pointer + r * c
                    let rs = rstd.pointer[r]
                    // y = x·rs·w  →  dx = rs·(g·w − x·rs²·mean(g·w·x)) ; dw = Σ g·x·rs
                    for i in 0..<c { gwx[i] = pg[i] * pw[i]; gw[i] += pg[i] * px[i] * rs }
                    let m = Kernels.dot(gwx, px, c) / S(c)
                    for i in 0..<c { pd[i] = rs * (gwx[i] - px[i] * rs * rs * m) }
                }
            }
            self.accumulateGrad(gx)
            if weight.needsGrad { weight.accumulateGrad(Kernels.sumPieces(partW)) }
        }
    }
}
