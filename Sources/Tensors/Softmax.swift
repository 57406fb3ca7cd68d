/// Row-wise softmax and log-softmax over the last axis (max-subtracted, so large logits never overflow), and
/// the fused cross-entropy used by SFT and PPO's token log-probs.
extension Tensor {
    /// Calls body(row pointer in, row pointer out) over rows of the last dim of contiguous tensors.
    @inline(__always)
    static func rowsLast(_ x: Tensor, _ y: Tensor, _ body: (UnsafeMutablePointer<S>, UnsafeMutablePointer<S>, Int) -> Void) {
        let n = x.shape.last ?? 1, rows = n == 0 ? 0 : x.count / n
        for r in 0..<rows { body(x.pointer + r * n, y.pointer + r * n, n) }
    }

    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func softmax() -> Tensor {
        let x = contiguousNoGrad()
        let out = Tensor(uninitialized: shape)
        Tensor.rowsLast(x, out) { px, py, n in Tensor.softmaxRow(px, py, n) }
        let saved = out.detached()  // not `out`: that would be a reference cycle through its own node
        return out.record("softmax", [self]) { g in
            // y = softmax(x)  →  dx = y ⊙ (g − Σ g⊙y)
            let gi = Tensor(uninitialized: self.shape)
            let n = self.shape.last ?? 1
            for r in 0..<(n == 0 ? 0 : self.count / n) {
                let py = saved.pointer + r * n, pg = g.pointer + r * n, pd = gi.pointer + r * n
                let dot = Kernels.dot(pg, py, n)
                for i in 0..<n { pd[i] = py[i] * (pg[i] - dot) }
            }
            self.accumulateGrad(gi)
        }
    }

    @inline(__always)
    static func softmaxRow(_ px: UnsafeMutablePointer<S>, _ py: UnsafeMutablePointer<S>, _ n: Int) {
        var mx = -S.infinity
        mx = Kernels.rowMax(px, n)
        if mx == -S.infinity { for i in 0..<n { py[i] = 0 }; return }  // fully masked row
        for i in 0..<n { py[i] = px[i] - mx }
        S.expArray(py, py, n)
        let inv = 1 / Kernels.rowSum(py, n)
        for i in 0..<n { py[i] *= inv }
    }

    /// log softmax(x)[t] of each row of the last axis: x: (..., V), one target per row → (...). The fused form of
    /// `logSoftmax().gather(axis: -1, …)` that scoring uses (the log-prob of each sampled token): no (…, V)
    /// log-softmax or scattered gradient is materialised, and rows run in parallel, each row's arithmetic its own,
    /// so the bits do not depend on the thread count. The forward's bits are `logSoftmax`'s.
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func targetLogProbs(_ targets: [Int]) -> Tensor {
        let v = shape.last ?? 0, rows = v == 0 ? 0 : count / v
        precondition(v > 0 && targets.count == rows, "targetLogProbs: \(rows) rows of \(v), \(targets.count) targets")
        for t in targets { precondition(t >= 0 && t < v, "target \(t) outside vocabulary of \(v)") }
        let x = contiguousNoGrad()
        let probs = Tensor(uninitialized: shape)  // softmax rows, for the backward
        let out = Tensor(uninitialized: Array(shape.dropLast()))
        let po = out.pointer
        Parallel.forEach(rows, grain: 16) { range in
            for r in range {
                let px = x.pointer + r * v, pp = probs.pointer + r * v
                let mx = Kernels.rowMax(px, v)
                for i in 0..<v { pp[i] = px[i] - mx }
                S.expArray(pp, pp, v)
                let s = Kernels.rowSum(pp, v)
                po[r] = px[targets[r]] - (mx + S.log(s))
                let inv = 1 / s
                for i in 0..<v { pp[i] *= inv }
            }
        }
        return out.record("targetLogProbs", [self]) { g0 in
            // y_r = x_r[t_r] − logΣexp(x_r)  →  dx_r = g_r · (onehot(t_r) − softmax(x_r))
            let g = g0.contiguousNoGrad(), gi = Tensor(uninitialized: self.shape)
            Parallel.forEach(rows, grain: 16) { range in
                for r in range {
                    let gr = g.pointer[r], pp = probs.pointer + r * v, pd = gi.pointer + r * v
                    for i in 0..<v { pd[i] = -gr * pp[i] }
                    pd[targets[r]] += gr
                }
            }
            self.accumulateGrad(gi)
        }
    }

    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func logSoftmax() -> Tensor {
        let x = contiguousNoGrad()
        let out = Tensor(uninitialized: shape)
        Tensor.rowsLast(x, out) { px, py, n in
            var mx = -S.infinity
            mx = Kernels.rowMax(px, n)
            for i in 0..<n { py[i] = px[i] - mx }
            S.expArray(py, py, n)
            let lse = mx + S.log(Kernels.rowSum(py, n))
            for i in 0..<n { py[i] = px[i] - lse }
        }
        let saved = out.detached()
        return out.record("logSoftmax", [self]) { g in
            // y = x − logΣexp(x)  →  dx = g − softmax(x)·Σg
            let gi = Tensor(uninitialized: self.shape)
            let n = self.shape.last ?? 1
            for r in 0..<(n == 0 ? 0 : self.count / n) {
                let py = saved.pointer + r * n, pg = g.pointer + r * n, pd = gi.pointer + r * n
                let gs = Kernels.rowSum(pg, n)
                for i in 0..<n { pd[i] = pg[i] - S.exp(py[i]) * gs }
            }
            self.accumulateGrad(gi)
        }
    }

    /// Mean token cross-entropy of logits (..., V) against integer targets (one per row).
    ///
    /// Rows whose target equals `ignoreIndex` contribute nothing; `weights` (one per row, e.g. λ for thought
    /// tokens and 1 for action tokens) scale each row's loss. The result is Σ wᵢ·nllᵢ / Σ wᵢ over kept rows,
    /// or Σ wᵢ·nllᵢ when `normalize` is false. Fused with log-softmax: one pass forward, one backward.
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func crossEntropy(targets: [Int], ignoreIndex: Int = -100, weights: [S]? = nil, normalize: Bool = true) -> Tensor {
        let v = shape.last!, rows = count / v
        precondition(targets.count == rows, "crossEntropy: \(rows) rows, \(targets.count) targets")
        precondition(weights == nil || weights!.count == rows)
        let x = contiguousNoGrad()
        let probs = Tensor(uninitialized: shape)
        for t in targets where t != ignoreIndex { precondition(t >= 0 && t < v, "target \(t) outside vocabulary of \(v)") }
        // rows in parallel (each row's nll on its own), then summed in row order
        let nll = UnsafeMutablePointer<S>.allocate(capacity: Swift.max(rows, 1))
        defer { nll.deallocate() }
        Parallel.forEach(rows, grain: 64) { range in
            for r in range {
                let t = targets[r]
                if t == ignoreIndex { continue }
                let px = x.pointer + r * v, pp = probs.pointer + r * v
                Tensor.softmaxRow(px, pp, v)
                // nll = −log p[t], computed from the logits for accuracy: lse − x[t]
                var mx = -S.infinity
                mx = Kernels.rowMax(px, v)
                var s: S = 0
                for i in 0..<v { s += S.exp(px[i] - mx) }
                nll[r] = mx + S.log(s) - px[t]
            }
        }
        var total: S = 0, wsum: S = 0
        for r in 0..<rows where targets[r] != ignoreIndex {
            let w = weights?[r] ?? 1
            total += w * nll[r]
            wsum += w
        }
        let denom: S = normalize ? (wsum > 0 ? wsum : 1) : 1
        let out = Tensor(shape: [], scalars: [total / denom])
        return out.record("crossEntropy", [self]) { g in
            // d nll / d x = softmax(x) − onehot(t), scaled by w / denom · g
            let gi = Tensor(uninitialized: self.shape)
            let gs = g.pointer[0] / denom
            Parallel.forEach(rows, grain: 64) { range in
                for r in range {
                    let pd = gi.pointer + r * v
                    if targets[r] == ignoreIndex { pd.update(repeating: 0, count: v); continue }
                    let w = (weights?[r] ?? 1) * gs
                    let pp = probs.pointer + r * v
                    for i in 0..<v { pd[i] = pp[i] * w }
                    pd[targets[r]] -= w
                }
            }
            self.accumulateGrad(gi)
        }
    }
}
