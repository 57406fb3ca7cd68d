/// Element loops shared by the ops, pre-specialised for Float and Double so generic callers stay fast.
enum BinaryOp { case add, sub, mul, div, min, max }

enum Kernels {
    /// out = a ∘ b with broadcasting; `out` is contiguous with the broadcast shape.
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    static func binary<S: TensorScalar>(_ op: BinaryOp, _ a: Tensor<S>, _ b: Tensor<S>, _ out: Tensor<S>) {
        let sa = a.broadcastStrides(to: out.shape), sb = b.broadcastStrides(to: out.shape)
        let pa = a.storage.pointer, pb = b.storage.pointer, po = out.pointer
        Strided.rows(shape: out.shape, strides: [sa, sb, Tensor<S>.contiguousStrides(out.shape)], base: [a.offset, b.offset, 0]) { off, n, inner in
            let x = pa + off[0], y = pb + off[1], z = po + off[2]
            let ia = inner[0], ib = inner[1]
            @inline(__always) func run(_ f: (S, S) -> S) {
                if ia == 1 && ib == 1 { for i in 0..<n { z[i] = f(x[i], y[i]) } }
                else if ia == 1 && ib == 0 { let v = y[0]; for i in 0..<n { z[i] = f(x[i], v) } }
                else if ia == 0 && ib == 1 { let v = x[0]; for i in 0..<n { z[i] = f(v, y[i]) } }
                else { for i in 0..<n { z[i] = f(x[i * ia], y[i * ib]) } }
            }
            switch op {
            case .add: run(+)
            case .sub: run(-)
            case .mul: run(*)
            case .div: run(/)
            case .min: run { $0 <= $1 ? $0 : $1 }
            case .max: run { $0 >= $1 ? $0 : $1 }
            }
        }
    }

    /// dst += src, `dst` contiguous, `src` any strides with the same shape.
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    static func addInPlace<S: TensorScalar>(_ dst: Tensor<S>, _ src: Tensor<S>) {
        let pd = dst.pointer, ps = src.storage.pointer
        Strided.rows(shape: dst.shape, strides: [Tensor<S>.contiguousStrides(dst.shape), src.strides], base: [0, src.offset]) { off, n, inner in
            let d = pd + off[0], s = ps + off[1], ss = inner[1]
            if ss == 1 { for i in 0..<n { d[i] += s[i] } } else { for i in 0..<n { d[i] += s[i * ss] } }
        }
    }

    /// Adds `src` (contiguous, shape `from`) into a strided region of `dst` described by shape/strides/offset.
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    static func scatterAdd<S: TensorScalar>(into dst: UnsafeMutablePointer<S>, offset: Int, strides: [Int], shape: [Int], from src: UnsafeMutablePointer<S>) {
        Strided.rows(shape: shape, strides: [strides, Tensor<S>.contiguousStrides(shape)], base: [offset, 0]) { off, n, inner in
            let d = dst + off[0], s = src + off[1], sd = inner[0]
            if sd == 1 { for i in 0..<n { d[i] += s[i] } } else { for i in 0..<n { d[i * sd] += s[i] } }
        }
    }

    /// Sums `src` (any strides, shape `srcShape`) into contiguous `dst` whose shape is `srcShape` with some dims
    /// set to 1 (the reduced axes). Order of accumulation is fixed, so results are deterministic.
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    static func reduceSum<S: TensorScalar>(_ src: Tensor<S>, into dst: Tensor<S>) {
        dst.pointer.update(repeating: 0, count: dst.count)
        var dstStrides = Tensor<S>.contiguousStrides(dst.shape)
        for i in 0..<dst.rank where dst.shape[i] == 1 && src.shape[i] != 1 { dstStrides[i] = 0 }
        let ps = src.storage.pointer, pd = dst.pointer
        Strided.rows(shape: src.shape, strides: [src.strides, dstStrides], base: [src.offset, 0]) { off, n, inner in
            let s = ps + off[0], d = pd + off[1], ss = inner[0], sd = inner[1]
            if sd == 0 {
                if ss == 1 { d[0] += rowSum(s, n) } else { var acc: S = 0; for i in 0..<n { acc += s[i * ss] }; d[0] += acc }
            } else if ss == 1 && sd == 1 {
                for i in 0..<n { d[i] += s[i] }
            } else {
                for i in 0..<n { d[i * sd] += s[i * ss] }
            }
        }
    }

    /// Sum of a contiguous row in eight lanes.
    @inline(__always)
    static func rowSum<S: TensorScalar>(_ x: UnsafePointer<S>, _ n: Int) -> S {
        var acc = SIMD8<S>(repeating: 0)
        var i = 0
        while i + 8 <= n { acc += UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<S>.self); i += 8 }
        var s = acc.sum()
        while i < n { s += x[i]; i += 1 }
        return s
    }

    @inline(__always)
    static func dot<S: TensorScalar>(_ x: UnsafePointer<S>, _ y: UnsafePointer<S>, _ n: Int) -> S {
        var acc = SIMD8<S>(repeating: 0)
        var i = 0
        while i + 8 <= n {
            acc += UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<S>.self) * UnsafeRawPointer(y + i).loadUnaligned(as: SIMD8<S>.self)
            i += 8
        }
        var s = acc.sum()
        while i < n { s += x[i] * y[i]; i += 1 }
        return s
    }
}
