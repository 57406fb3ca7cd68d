/// LayerNorm and RMSNorm over the last axis, fused: one pass forward, one pass backward, statistics in S.
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
        var rstd = [S](repeating: 0, count: rows)
        for r in 0..<rows {
            let px = x.pointer + r * c, ph = xhat.pointer + r * c, py = out.pointer + r * c
            let mean = Kernels.rowSum(px, c) / S(c)
            var v: S = 0
            for i in 0..<c { let d = px[i] - mean; v += d * d }
            let rs = 1 / (v / S(c) + eps).squareRoot()
            rstd[r] = rs
            for i in 0..<c { ph[i] = (px[i] - mean) * rs; py[i] = ph[i] * w.pointer[i] + (b?.pointer[i] ?? 0) }
        }
        let inputs = bias.map { [self, weight, $0] } ?? [self, weight]
        return out.record("layerNorm", inputs) { g in
            let gx = Tensor(uninitialized: self.shape)
            let gw = Tensor.zeros([c]), gb = Tensor.zeros([c])
            var dxh = [S](repeating: 0, count: c)
            for r in 0..<rows {
                let pg = g.pointer + r * c, ph = xhat.pointer + r * c, pd = gx.pointer + r * c
                // y = x̂·w + b  →  dx̂ = g·w ; dx = rstd·(dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂))
                var m1: S = 0, m2: S = 0
                for i in 0..<c {
                    dxh[i] = pg[i] * w.pointer[i]; m1 += dxh[i]; m2 += dxh[i] * ph[i]
                    gw.pointer[i] += pg[i] * ph[i]; gb.pointer[i] += pg[i]
                }
                m1 /= S(c); m2 /= S(c)
                for i in 0..<c { pd[i] = rstd[r] * (dxh[i] - m1 - ph[i] * m2) }
            }
            self.accumulateGrad(gx)
            weight.accumulateGrad(gw)
            bias?.accumulateGrad(gb)
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
        var rstd = [S](repeating: 0, count: rows)
        for r in 0..<rows {
            let px = x.pointer + r * c, py = out.pointer + r * c
            let rs = 1 / (Kernels.dot(px, px, c) / S(c) + eps).squareRoot()
            rstd[r] = rs
            for i in 0..<c { py[i] = px[i] * rs * w.pointer[i] }
        }
        return out.record("rmsNorm", [self, weight]) { g in
            let gx = Tensor(uninitialized: self.shape)
            let gw = Tensor.zeros([c])
            for r in 0..<rows {
                let px = x.pointer + r * c, pg = g.pointer + r * c, pd = gx.pointer + r * c
                let rs = rstd[r]
                // y = x·rs·w  →  dx = rs·(g·w − x·rs²·mean(g·w·x)) ; dw = Σ g·x·rs
                var m: S = 0
                for i in 0..<c { m += pg[i] * w.pointer[i] * px[i]; gw.pointer[i] += pg[i] * px[i] * rs }
                m /= S(c)
                for i in 0..<c { pd[i] = rs * (pg[i] * w.pointer[i] - px[i] * rs * rs * m) }
            }
            self.accumulateGrad(gx)
            weight.accumulateGrad(gw)
        }
    }
}
