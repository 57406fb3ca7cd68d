/// Embedding lookup, take-along-dim gather, concat, split and stack.
extension Tensor {
    /// Rows of a (V, D) table for integer ids: result shape is `idsShape + [D]`.
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func embedding(_ ids: [Int], shape idsShape: [Int]) -> Tensor {
        precondition(rank == 2 && ids.count == Tensor.count(idsShape))
        let v = shape[0], d = shape[1]
        let table = contiguousNoGrad()
        let out = Tensor(uninitialized: idsShape + [d])
        for (i, id) in ids.enumerated() {
            precondition(id >= 0 && id < v, "token id \(id) outside table of \(v)")
            (out.pointer + i * d).update(from: table.pointer + id * d, count: d)
        }
        return out.record("embedding", [self]) { g in
            // out[i] = W[id_i]  →  dW[id_i] += g[i]
            let gw = Tensor.zeros(self.shape)
            for (i, id) in ids.enumerated() {
                let dst = gw.pointer + id * d, src = g.pointer + i * d
                for j in 0..<d { dst[j] += src[j] }
            }
            self.accumulateGrad(gw)
        }
    }

    /// take_along_dim: out[..., j, ...] = x[..., index[..., j, ...], ...] along `axis`; `index` has the
    /// result's shape, which equals `shape` except along `axis`.
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func gather(axis a: Int, index: [Int], shape idxShape: [Int]) -> Tensor {
        let ax = axis(a)
        precondition(idxShape.count == rank && index.count == Tensor.count(idxShape))
        for d in 0..<rank where d != ax { precondition(idxShape[d] == shape[d], "gather: index shape \(idxShape) vs \(shape)") }
        let x = contiguousNoGrad()
        let outer = shape[..<ax].reduce(1, *), inner = shape[(ax + 1)...].reduce(1, *)
        let n = shape[ax], m = idxShape[ax]
        let out = Tensor(uninitialized: idxShape)
        for o in 0..<outer { for j in 0..<m { for i in 0..<inner {
            let k = index[(o * m + j) * inner + i]
            precondition(k >= 0 && k < n, "gather index \(k) outside dim of \(n)")
            out.pointer[(o * m + j) * inner + i] = x.pointer[(o * n + k) * inner + i]
        } } }
        return out.record("gather", [self]) { g in
            let gx = Tensor.zeros(self.shape)
            for o in 0..<outer { for j in 0..<m { for i in 0..<inner {
                let k = index[(o * m + j) * inner + i]
                gx.pointer[(o * n + k) * inner + i] += g.pointer[(o * m + j) * inner + i]
            } } }
            self.accumulateGrad(gx)
        }
    }

    /// Joins tensors along `axis`; all other dims must match.
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public static func concat(_ parts: [Tensor], axis a: Int) -> Tensor {
        precondition(!parts.isEmpty)
        let ax = parts[0].axis(a)
        var shape = parts[0].shape
        shape[ax] = parts.map { $0.shape[ax] }.reduce(0, +)
        for p in parts {
            precondition(p.rank == shape.count && (0..<p.rank).allSatisfy { $0 == ax || p.shape[$0] == shape[$0] },
                         "concat: \(p.shape) does not fit \(shape) along \(ax)")
        }
        let out = Tensor(uninitialized: shape)
        let cs = Tensor.contiguousStrides(shape)
        var start = 0
        for p in parts {
            let c = p.contiguousNoGrad()
            // Scatter into the zero-free region of out: a strided copy through the "add" kernel on a zeroed view
            // would cost an extra pass, so copy rows directly.
            Strided.rows(shape: p.shape, strides: [cs, Tensor.contiguousStrides(p.shape)], base: [start * cs[ax], 0]) { off, n, inner in
                let d = out.pointer + off[0], s = c.pointer + off[1]
                if inner[0] == 1 { d.update(from: s, count: n) } else { for i in 0..<n { d[i * inner[0]] = s[i] } }
            }
            start += p.shape[ax]
        }
        return out.record("concat", parts) { g in
            var s = 0
            for p in parts {
                let e = s + p.shape[ax]
                if p.needsGrad { p.accumulateGrad(g.view(p.shape, g.strides, g.offset + s * g.strides[ax])) }
                s = e
            }
        }
    }

    /// Views of consecutive pieces along `axis` with the given sizes.
    public func split(_ sizes: [Int], axis a: Int) -> [Tensor] {
        let ax = axis(a)
        precondition(sizes.reduce(0, +) == shape[ax], "split sizes \(sizes) do not add up to \(shape[ax])")
        var start = 0
        return sizes.map { n in defer { start += n }; return slice(axis: ax, start, start + n) }
    }

    /// Stacks same-shape tensors along a new axis.
    public static func stack(_ parts: [Tensor], axis a: Int = 0) -> Tensor {
        concat(parts.map { $0.unsqueeze(a) }, axis: a)
    }
}
