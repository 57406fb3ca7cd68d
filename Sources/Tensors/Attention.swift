/// Scaled dot-product attention with grouped-query heads, fused so that the (T × S) score matrices of every
/// head are computed with two GEMMs each and never materialised as graph nodes.
extension Tensor {
    /// Base pointer and row stride of matrix (b, h) of a rank-4 tensor whose last dim is contiguous.
    func matrix(_ b: Int, _ h: Int) -> UnsafeMutablePointer<S> { storage.pointer + offset + b * strides[0] + h * strides[1] }

    /// q: (B, Hq, T, D), k: (B, Hkv, S, D), v: (B, Hkv, S, Dv) → (B, Hq, T, Dv).
    ///
    /// Hq must be a multiple of Hkv (query head h reads kv head h / (Hq/Hkv)). With `causal`, query t sees keys
    /// 0…t + (S − T), so a KV cache of S − T earlier positions works unchanged. The result is a (B, Hq, T, Dv)
    /// view of (B, T, Hq, Dv) storage, so `.transpose(1, 2).reshape([B, T, Hq·Dv])` is free.
    ///
    /// `keyStart[b]` hides keys 0..<keyStart[b] of batch row b: left-padded batches of prompts of different
    /// lengths then give each row exactly what it would get alone (with relative positions such as RoPE).
    /// A query that sees no key at all (a padding position) outputs zeros.
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public static func attention(q q0: Tensor, k k0: Tensor, v v0: Tensor, causal: Bool, scale: S? = nil, keyStart: [Int]? = nil) -> Tensor {
        precondition(q0.rank == 4 && k0.rank == 4 && v0.rank == 4, "attention wants rank-4 q, k, v")
        let bsz = q0.shape[0], hq = q0.shape[1], t = q0.shape[2], d = q0.shape[3]
        let hkv = k0.shape[1], s = k0.shape[2], dv = v0.shape[3]
        precondition(k0.shape == [bsz, hkv, s, d] && v0.shape == [bsz, hkv, s, dv] && hq % hkv == 0,
                     "attention shapes q\(q0.shape) k\(k0.shape) v\(v0.shape)")
        precondition(!causal || s >= t, "causal attention needs at least as many keys as queries")
        precondition(keyStart == nil || keyStart!.count == bsz, "keyStart needs one entry per batch row")
        let group = hq / hkv, off = s - t
        let sc = scale ?? 1 / S(d).squareRoot()
        func rowMajor(_ x: Tensor) -> Tensor { x.strides[3] == 1 || x.shape[3] == 1 ? x : x.contiguousNoGrad() }
        let q = rowMajor(q0), k = rowMajor(k0), v = rowMajor(v0)
        let probs = Tensor(uninitialized: [bsz, hq, t, s])
        let outStore = Tensor(uninitialized: [bsz, t, hq, dv])
        for b in 0..<bsz {
            for h in 0..<hq {
                let kh = h / group
                let p = probs.pointer + (b * hq + h) * t * s
                // scores = q·kᵀ·scale : (T, S)
                S.gemm(transA: false, transB: true, m: t, n: s, k: d, alpha: sc, a: q.matrix(b, h), lda: q.strides[2],
                       b: k.matrix(b, kh), ldb: k.strides[2], beta: 0, c: p, ldc: s)
                let start = Swift.min(keyStart?[b] ?? 0, s)
                for i in 0..<t {
                    let row = p + i * s
                    let end = causal ? Swift.min(i + off + 1, s) : s  // keys start..<end are visible
                    if start >= end { for j in 0..<s { row[j] = 0 }; continue }
                    for j in 0..<start { row[j] = -S.infinity }
                    for j in end..<s { row[j] = -S.infinity }
                    Tensor.softmaxRow(row, row, s)
                }
                // out = P·v : (T, Dv), written into (B, T, Hq, Dv) storage
                S.gemm(transA: false, transB: false, m: t, n: dv, k: s, alpha: 1, a: p, lda: s, b: v.matrix(b, kh),
                       ldb: v.strides[2], beta: 0, c: outStore.pointer + (b * t * hq + h) * dv, ldc: hq * dv)
            }
        }
        let out = outStore.permuteNoGrad([0, 2, 1, 3])
        return out.record("attention", [q0, k0, v0]) { g in
            let gq = Tensor.zeros([bsz, hq, t, d]), gk = Tensor.zeros([bsz, hkv, s, d]), gv = Tensor.zeros([bsz, hkv, s, dv])
            let dp = Tensor(uninitialized: [t, s])
            for b in 0..<bsz {
                for h in 0..<hq {
                    let kh = h / group
                    let p = probs.pointer + (b * hq + h) * t * s
                    let go = g.pointer + (b * hq + h) * t * dv
                    // dV += Pᵀ·gO ; dP = gO·vᵀ
                    S.gemm(transA: true, transB: false, m: s, n: dv, k: t, alpha: 1, a: p, lda: s, b: go, ldb: dv,
                           beta: 1, c: gv.pointer + (b * hkv + kh) * s * dv, ldc: dv)
                    S.gemm(transA: false, transB: true, m: t, n: s, k: dv, alpha: 1, a: go, lda: dv, b: v.matrix(b, kh),
                           ldb: v.strides[2], beta: 0, c: dp.pointer, ldc: s)
                    // dS = P ⊙ (dP − Σ_j dP⊙P) · scale   (softmax backward, row-wise)
                    for i in 0..<t {
                        let pr = p + i * s, dr = dp.pointer + i * s
                        let dot = Kernels.dot(pr, dr, s)
                        for j in 0..<s { dr[j] = pr[j] * (dr[j] - dot) * sc }
                    }
                    // dQ = dS·k ; dK += dSᵀ·q
                    S.gemm(transA: false, transB: false, m: t, n: d, k: s, alpha: 1, a: dp.pointer, lda: s, b: k.matrix(b, kh),
                           ldb: k.strides[2], beta: 0, c: gq.pointer + (b * hq + h) * t * d, ldc: d)
                    S.gemm(transA: true, transB: false, m: s, n: d, k: t, alpha: 1, a: dp.pointer, lda: s, b: q.matrix(b, h),
                           ldb: q.strides[2], beta: 1, c: gk.pointer + (b * hkv + kh) * s * d, ldc: d)
                }
            }
            q0.accumulateGrad(gq); k0.accumulateGrad(gk); v0.accumulateGrad(gv)
        }
    }
}
