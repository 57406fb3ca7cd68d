/// Sum and mean over axes (all axes by default). Backward broadcasts the gradient back over the reduced axes.
extension Tensor {
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func sum(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        let ax = Set((axes ?? Array(0..<rank)).map(axis))
        let kept = shape.enumerated().map { ax.contains($0.offset) ? 1 : $0.element }
        let out = Tensor.zeros(kept)
        Kernels.reduceSum(self, into: out)
        let finalShape = keepDims ? kept : shape.enumerated().filter { !ax.contains($0.offset) }.map(\.element)
        let result = out.view(finalShape, Tensor.contiguousStrides(finalShape), 0)
        let inShape = shape
        return result.record("sum", [self]) { g in
            self.accumulateGrad(g.reshapeNoGrad(kept).expandNoGrad(inShape))
        }
    }

    public func sum(axis a: Int, keepDims: Bool = false) -> Tensor { sum(axes: [a], keepDims: keepDims) }

    public func mean(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        let ax = (axes ?? Array(0..<rank)).map(axis)
        let n = ax.reduce(1) { $0 * shape[$1] }
        return sum(axes: ax, keepDims: keepDims) * (1 / S(n))
    }

    public func mean(axis a: Int, keepDims: Bool = false) -> Tensor { mean(axes: [a], keepDims: keepDims) }
}
