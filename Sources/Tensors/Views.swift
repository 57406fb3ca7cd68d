/// Views share storage: reshape (of a contiguous tensor), transpose/permute, slice, expand, (un)squeeze.
/// Their gradients are routed back through the same index mapping without copying the forward data.
extension Tensor {
    func view(_ shape: [Int], _ strides: [Int], _ offset: Int) -> Tensor {
        Tensor(storage: storage, shape: shape, strides: strides, offset: offset)
    }

    /// Same elements, new shape; one dimension may be -1. Copies only when `self` is not contiguous.
    public func reshape(_ newShape: [Int]) -> Tensor {
        var target = newShape
        if let i = target.firstIndex(of: -1) {
            let known = target.enumerated().filter { $0.offset != i }.map(\.element).reduce(1, *)
            precondition(known > 0 && count % known == 0, "reshape \(shape) to \(newShape)")
            target[i] = count / known
        }
        precondition(Tensor.count(target) == count, "reshape: \(shape) has \(count) elements, \(newShape) does not fit")
        if target == shape { return self }
        let src = isContiguous ? self : contiguous()
        let out = src.view(target, Tensor.contiguousStrides(target), src.offset)
        let parentShape = shape
        return out.record("reshape", [src]) { g in src.accumulateGrad(g.reshapeNoGrad(parentShape)) }
    }

    func reshapeNoGrad(_ s: [Int]) -> Tensor {
        precondition(!s.contains(where: { $0 < 0 }) && Tensor.count(s) == count, "reshape \(shape) to \(s)")
        let c = contiguousNoGrad()
        return c.view(s, Tensor.contiguousStrides(s), c.offset)
    }

    /// A contiguous tensor with the same values (the identity when already contiguous).
    public func contiguous() -> Tensor {
        if isContiguous { return self }
        let out = contiguousNoGrad()
        return out.record("contiguous", [self]) { g in self.accumulateGrad(g) }
    }

    /// Reorders dimensions: result dim i is input dim `dims[i]`. A view, no copy.
    public func permute(_ dims: [Int]) -> Tensor {
        let d = dims.map(axis)
        precondition(Set(d).count == rank && d.count == rank, "permute \(dims) for rank \(rank)")
        let out = view(d.map { shape[$0] }, d.map { strides[$0] }, offset)
        var inverse = [Int](repeating: 0, count: rank)
        for (i, k) in d.enumerated() { inverse[k] = i }
        return out.record("permute", [self]) { g in self.accumulateGrad(g.permuteNoGrad(inverse)) }
    }

    func permuteNoGrad(_ d: [Int]) -> Tensor { view(d.map { shape[$0] }, d.map { strides[$0] }, offset) }

    public func transpose(_ a: Int, _ b: Int) -> Tensor {
        var d = Array(0..<rank)
        d.swapAt(axis(a), axis(b))
        return permute(d)
    }

    /// Swaps the last two dims (matrix transpose of each batch item).
    public var mT: Tensor { transpose(-2, -1) }

    /// Elements start..<end along `axis` (a view).
    public func slice(axis a: Int, _ start: Int, _ end: Int) -> Tensor {
        let ax = axis(a)
        precondition(start >= 0 && start <= end && end <= shape[ax], "slice \(start)..<\(end) of dim \(shape[ax])")
        var sh = shape
        sh[ax] = end - start
        let out = view(sh, strides, offset + start * strides[ax])
        let parentShape = shape
        return out.record("slice", [self]) { g in
            let cs = Tensor.contiguousStrides(parentShape)
            if let into = self.grad, !self.gradShared {
                // the parent already has a gradient of its own (an earlier slice of it): add into its region only
                Kernels.scatterAdd(into: into.pointer, offset: start * cs[ax], strides: cs, shape: sh, from: g.pointer)
                return
            }
            let full = Tensor.zeros(parentShape)
            Kernels.scatterAdd(into: full.pointer, offset: start * cs[ax], strides: cs, shape: sh, from: g.pointer)
            self.takeOrAccumulateGrad(full)
        }
    }

    /// Broadcasts size-1 dims (and new leading dims) to `target` without copying (stride 0).
    public func expand(_ target: [Int]) -> Tensor {
        precondition(Strided.broadcast(shape, target) == target, "cannot expand \(shape) to \(target)")
        if target == shape { return self }
        let out = view(target, broadcastStrides(to: target), offset)
        let s = shape
        return out.record("expand", [self]) { g in self.accumulateGrad(g.sumTo(s)) }
    }

    public func unsqueeze(_ a: Int) -> Tensor {
        let ax = a < 0 ? a + rank + 1 : a
        var s = shape
        s.insert(1, at: ax)
        return reshape(s)
    }

    public func squeeze(_ a: Int) -> Tensor {
        let ax = axis(a)
        precondition(shape[ax] == 1, "squeeze of dim \(ax) with size \(shape[ax])")
        var s = shape
        s.remove(at: ax)
        return reshape(s)
    }

    /// Sums a gradient of a broadcast result back down to `target` (no graph).
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    func sumTo(_ target: [Int]) -> Tensor {
        if shape == target { return self }
        // Leading broadcast dims are summed by viewing the target with leading 1s.
        let out = Tensor.zeros([Int](repeating: 1, count: rank - target.count) + target)
        Kernels.reduceSum(self, into: out)
        return out.reshapeNoGrad(target)
    }
}
