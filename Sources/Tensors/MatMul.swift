/// Matrix products through `cblas_?gemm`. Transposed views are passed to BLAS as transpose flags, never copied.
extension Tensor {
    /// How a rank ≥ 2 tensor's last two dims can be handed to row-major GEMM: as is, or transposed.
    /// Returns nil when neither works (then the caller makes it contiguous).
    func gemmLayout() -> (trans: Bool, ld: Int)? {
        let r = rank
        let rows = shape[r - 2], cols = shape[r - 1], s0 = strides[r - 2], s1 = strides[r - 1]
        if s1 == 1 || cols == 1 {
            let ld = rows == 1 ? Swift.max(cols, 1) : s0
            if ld >= Swift.max(cols, 1) { return (false, ld) }
        }
        if s0 == 1 || rows == 1 {
            let ld = cols == 1 ? Swift.max(rows, 1) : s1
            if ld >= Swift.max(rows, 1) { return (true, ld) }
        }
        return nil
    }

    /// The (batch offsets) of each matrix, or nil when batch dims cannot be walked by offsets.
    func batchOffsets(_ batch: [Int]) -> [Int] {
        let bs = Array(broadcastStrides(to: batch + Array(shape.suffix(2))).prefix(batch.count))
        var offs: [Int] = []
        offs.reserveCapacity(batch.reduce(1, *))
        Strided.rows(shape: batch + [1], strides: [bs + [0]], base: [offset]) { off, n, inner in
            for j in 0..<n { offs.append(off[0] + j * inner[0]) }
        }
        if batch.isEmpty { return [offset] }
        return offs
    }

    /// a: (..., M, K) @ b: (..., K, N) → (..., M, N), batch dims broadcast. 1-D operands are not promoted.
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func matmul(_ other: Tensor) -> Tensor {
        precondition(rank >= 2 && other.rank >= 2, "matmul needs rank ≥ 2, got \(shape) @ \(other.shape)")
        let m = shape[rank - 2], k = shape[rank - 1], n = other.shape[other.rank - 1]
        precondition(other.shape[other.rank - 2] == k, "matmul \(shape) @ \(other.shape): inner dims differ")
        guard let batch = rank == 2 && other.rank == 2 ? [] : Strided.broadcast(Array(shape.dropLast(2)), Array(other.shape.dropLast(2))) else {
            preconditionFailure("matmul batch dims \(shape) @ \(other.shape) do not broadcast")
        }
        let out = Tensor(uninitialized: batch + [m, n])
        Tensor.gemmInto(out, self, other, beta: 0)
        let a = self, b = other
        return out.record("matmul", [a, b]) { g in
            // out = a @ b  →  da = g @ bᵀ, db = aᵀ @ g (summed over broadcast batch dims)
            if a.needsGrad {
                let ga = Tensor(uninitialized: batch + [m, k])  // beta 0 overwrites every element
                Tensor.gemmInto(ga, g, b.permuteNoGrad(Tensor.swapLast(b.rank)), beta: 0)
                a.accumulateGrad(ga.sumTo(a.shape))
            }
            if b.needsGrad {
                if b.rank == 2, a.isContiguous, batch.count > 0 {
                    // Shared weight: fold the batch into one GEMM, db = A_flatᵀ @ G_flat.
                    let gb = Tensor(uninitialized: [k, n])
                    let af = a.reshapeNoGrad([a.count / k, k]), gf = g.reshapeNoGrad([g.count / n, n])
                    Tensor.gemmInto(gb, af.permuteNoGrad([1, 0]), gf, beta: 0)
                    b.accumulateGrad(gb)
                } else {
                    let gb = Tensor(uninitialized: batch + [k, n])
                    Tensor.gemmInto(gb, a.permuteNoGrad(Tensor.swapLast(a.rank)), g, beta: 0)
                    b.accumulateGrad(gb.sumTo(b.shape))
                }
            }
        }
    }

    static func swapLast(_ r: Int) -> [Int] { var d = Array(0..<r); d.swapAt(r - 1, r - 2); return d }

    /// out (contiguous, batch + [M, N]) = a @ b + beta·out.
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    static func gemmInto(_ out: Tensor, _ a0: Tensor, _ b0: Tensor, beta: S) {
        let m = out.shape[out.rank - 2], n = out.shape[out.rank - 1], k = a0.shape[a0.rank - 1]
        let batch = Array(out.shape.dropLast(2))
        let a = a0.gemmLayout() == nil ? a0.contiguousNoGrad() : a0
        let b = b0.gemmLayout() == nil ? b0.contiguousNoGrad() : b0
        let la = a.gemmLayout()!, lb = b.gemmLayout()!
        if m == 0 || n == 0 { return }
        if k == 0 { if beta == 0 { out.pointer.update(repeating: 0, count: out.count) }; return }
        if a.rank == 2 && b.rank == 2 {  // plain matrix product: one call, no batch bookkeeping
            S.gemm(transA: la.trans, transB: lb.trans, m: m, n: n, k: k, alpha: 1, a: a.pointer, lda: la.ld,
                   b: b.pointer, ldb: lb.ld, beta: beta, c: out.pointer, ldc: n)
            return
        }
        // Fold batch into M when b is one shared matrix and a's rows are evenly spaced.
        if b.rank == 2 && a.rank > 2 && !la.trans {
            let rowsContig = a.isContiguous
            if rowsContig {
                S.gemm(transA: false, transB: lb.trans, m: a.count / k, n: n, k: k, alpha: 1, a: a.pointer, lda: la.ld,
                       b: b.pointer, ldb: lb.ld, beta: beta, c: out.pointer, ldc: n)
                return
            }
        }
        let oa = a.batchOffsets(batch), ob = b.batchOffsets(batch)
        for i in 0..<oa.count {
            S.gemm(transA: la.trans, transB: lb.trans, m: m, n: n, k: k, alpha: 1,
                   a: a.storage.pointer + oa[i], lda: la.ld, b: b.storage.pointer + ob[i], ldb: lb.ld,
                   beta: beta, c: out.pointer + i * m * n, ldc: n)
        }
    }
}
