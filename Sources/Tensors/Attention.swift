/// Scaled dot-product attention with grouped-query heads, fused so that the (T × S) score matrices of every
/// head are computed with GEMMs and never materialised as graph nodes.
///
/// The products run in `blockProduct` (Float: CBLAS/attentionblock.h), with K, V, their transposes, Q and the
/// output gradient packed once per (batch row, head) and every block reading a prefix of them: OpenBLAS, called per
/// block, repacked them each time and zero-filled every beta-0 output in a pass of its own (`gtr-bench profile`,
/// 1 thread, three alternating pairs: the train step's attention forward + backward 58.7-64.3 → 50.1-52.0 ms).
///
/// Causal attention is computed in blocks of 64 query rows: block [i0, i1) only multiplies against the keys it
/// can see (0 ..< i1 + S − T), so the masked upper triangle costs nothing (T = 256: 62.5 % of the full products).
/// Heads run in parallel on the worker pool, one (batch row, head) per chunk forward and one (batch row, kv head)
/// per chunk backward, so the heads sharing a kv head accumulate into dK and dV in a fixed order.
extension Tensor {
    /// Base pointer and row stride of matrix (b, h) of a rank-4 tensor whose last dim is contiguous.
    func matrix(_ b: Int, _ h: Int) -> UnsafeMutablePointer<S> { storage.pointer + offset + b * strides[0] + h * strides[1] }

    /// Query rows per causal block.
    static var attentionBlock: Int { 64 }

    /// Strips of 16 columns that n columns take (`packBlockOperand`).
    static func strips(_ n: Int) -> Int { (n + 15) / 16 }

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
        // Query blocks [i0, i1) and the keys 0..<kEnd the last row of each can see.
        let block = causal ? attentionBlock : Swift.max(t, 1)
        let blocks: [(i0: Int, i1: Int, kEnd: Int)] = stride(from: 0, to: t, by: block).map { i0 in
            let i1 = Swift.min(i0 + block, t)
            return (i0, i1, causal ? Swift.min(i1 + off, s) : s)
        }
        let starts = (0..<bsz).map { Swift.min(keyStart?[$0] ?? 0, s) }
        // probs: (B, Hq, T, S); row i holds the softmax over its visible keys and zeros up to its block's kEnd
        let probs = Tensor(uninitialized: [bsz, hq, t, s])
        let outStore = Tensor(uninitialized: [bsz, t, hq, dv])
        let pq = q, pk = k, pv = v
        Parallel.run(chunks: bsz * hq, work: bsz * hq * t * s * (d + dv)) { unit in
            let b = unit / hq, h = unit % hq, kh = h / group
            let p = probs.pointer + (b * hq + h) * t * s
            let start = starts[b]
            if t == 1 {
                // one query (a decoding step): scores = K·q·scale and out = Vᵀ·p, K and V read in place
                let end = causal ? Swift.min(off + 1, s) : s
                let o = outStore.pointer + (b * hq + h) * dv
                if start >= end { for j in 0..<s { p[j] = 0 }; for j in 0..<dv { o[j] = 0 }; return }
                for j in 0..<start { p[j] = 0 }
                S.queryScores(pq.matrix(b, h), keys: pk.matrix(b, kh) + start * pk.strides[2], ldk: pk.strides[2], n: end - start, d: d,
                              scale: sc, into: p + start)
                Tensor.softmaxRow(p + start, p + start, end - start)
                for j in end..<s { p[j] = 0 }
                S.weightedValues(p + start, values: pv.matrix(b, kh) + start * pv.strides[2], ldv: pv.strides[2], n: end - start, dv: dv,
                                 into: o)
                return
            }
            // kᵀ (D × S) and v (S × Dv), packed once for all the blocks, each of which reads a prefix of them
            let ktp = UnsafeMutablePointer<S>.allocate(capacity: 16 * d * strips(s)), vp = UnsafeMutablePointer<S>.allocate(capacity: 16 * s * strips(dv))
            defer { ktp.deallocate(); vp.deallocate() }
            S.packBlockOperand(k: d, n: s, b: pk.matrix(b, kh), brs: 1, bcs: pk.strides[2], into: ktp)
            S.packBlockOperand(k: s, n: dv, b: pv.matrix(b, kh), brs: pv.strides[2], bcs: 1, into: vp)
            for (i0, i1, kEnd) in blocks {
                // scores = q·kᵀ·scale : (i1 − i0, kEnd)
                S.blockProduct(m: i1 - i0, n: kEnd, k: d, alpha: sc, a: pq.matrix(b, h) + i0 * pq.strides[2], ars: pq.strides[2], acs: 1,
                               packed: ktp, ss: 16 * d, beta: 0, c: p + i0 * s, ldc: s)
                for i in i0..<i1 {
                    let row = p + i * s
                    let end = causal ? Swift.min(i + off + 1, s) : s  // keys start..<end are visible
                    if start >= end { for j in 0..<kEnd { row[j] = 0 }; continue }
                    for j in 0..<start { row[j] = 0 }
                    Tensor.softmaxRow(row + start, row + start, end - start)
                    for j in end..<kEnd { row[j] = 0 }
                }
                // out = P·v : (i1 − i0, Dv), written into (B, T, Hq, Dv) storage
                S.blockProduct(m: i1 - i0, n: dv, k: kEnd, alpha: 1, a: p + i0 * s, ars: s, acs: 1, packed: vp, ss: 16 * s,
                               beta: 0, c: outStore.pointer + ((b * t + i0) * hq + h) * dv, ldc: hq * dv)
            }
        }
        let out = outStore.permuteNoGrad([0, 2, 1, 3])
        return out.record("attention", [q0, k0, v0]) { g0 in
            let g = g0.strides[3] == 1 ? g0 : g0.contiguousNoGrad()
            // every row of dQ is written (beta 0) by its head's blocks; dK and dV accumulate over the group's heads
            // and the blocks, so each chunk zeroes its own (b, kv head) matrices first, on its own thread
            let gq = Tensor(uninitialized: [bsz, hq, t, d]), gk = Tensor(uninitialized: [bsz, hkv, s, d])
            let gv = Tensor(uninitialized: [bsz, hkv, s, dv])
            Parallel.run(chunks: bsz * hkv, work: 2 * bsz * hq * t * s * (d + dv)) { unit in
                let b = unit / hkv, kh = unit % hkv
                gk.matrix(b, kh).initialize(repeating: 0, count: s * d)
                gv.matrix(b, kh).initialize(repeating: 0, count: s * dv)
                // packed once per (batch row, kv head): vᵀ (Dv × S) and k (S × D); per query head: gO (T × Dv) and q (T × D)
                let dp = UnsafeMutablePointer<S>.allocate(capacity: block * s)
                let vtp = UnsafeMutablePointer<S>.allocate(capacity: 16 * dv * strips(s)), kp = UnsafeMutablePointer<S>.allocate(capacity: 16 * s * strips(d))
                let gop = UnsafeMutablePointer<S>.allocate(capacity: 16 * t * strips(dv)), qp = UnsafeMutablePointer<S>.allocate(capacity: 16 * t * strips(d))
                defer { dp.deallocate(); vtp.deallocate(); kp.deallocate(); gop.deallocate(); qp.deallocate() }
                S.packBlockOperand(k: dv, n: s, b: pv.matrix(b, kh), brs: 1, bcs: pv.strides[2], into: vtp)
                S.packBlockOperand(k: s, n: d, b: pk.matrix(b, kh), brs: pk.strides[2], bcs: 1, into: kp)
                for h in (kh * group)..<((kh + 1) * group) {
                    let p = probs.pointer + (b * hq + h) * t * s
                    let go = g.matrix(b, h), ldgo = g.strides[2]
                    let gqm = gq.matrix(b, h), gkm = gk.matrix(b, kh), gvm = gv.matrix(b, kh)
                    S.packBlockOperand(k: t, n: dv, b: go, brs: ldgo, bcs: 1, into: gop)
                    S.packBlockOperand(k: t, n: d, b: pq.matrix(b, h), brs: pq.strides[2], bcs: 1, into: qp)
                    for (i0, i1, kEnd) in blocks {
                        let m = i1 - i0
                        // out = P·v  →  dV[:kEnd] += P_blkᵀ·gO_blk ; dP_blk = gO_blk·v[:kEnd]ᵀ
                        S.blockProduct(m: kEnd, n: dv, k: m, alpha: 1, a: p + i0 * s, ars: 1, acs: s, packed: gop + 16 * i0, ss: 16 * t,
                                       beta: 1, c: gvm, ldc: gv.strides[2])
                        S.blockProduct(m: m, n: kEnd, k: dv, alpha: 1, a: go + i0 * ldgo, ars: ldgo, acs: 1, packed: vtp, ss: 16 * dv,
                                       beta: 0, c: dp, ldc: s)
                        // P = softmax(scores)  →  dS = P ⊙ (dP − Σ_j dP⊙P) · scale   (row-wise; masked P are 0)
                        for i in 0..<m {
                            let pr = p + (i0 + i) * s, dr = dp + i * s
                            let dot = Kernels.dot(pr, dr, kEnd)
                            for j in 0..<kEnd { dr[j] = pr[j] * (dr[j] - dot) * sc }
                        }
                        // scores = q·kᵀ  →  dQ_blk = dS·k[:kEnd] ; dK[:kEnd] += dSᵀ·q_blk
                        S.blockProduct(m: m, n: d, k: kEnd, alpha: 1, a: dp, ars: s, acs: 1, packed: kp, ss: 16 * s,
                                       beta: 0, c: gqm + i0 * gq.strides[2], ldc: gq.strides[2])
                        S.blockProduct(m: kEnd, n: d, k: m, alpha: 1, a: dp, ars: 1, acs: s, packed: qp + 16 * i0, ss: 16 * t,
                                       beta: 1, c: gkm, ldc: gk.strides[2])
                    }
                }
            }
            q0.accumulateGrad(gq); k0.accumulateGrad(gk); v0.accumulateGrad(gv)
        }
    }
}
