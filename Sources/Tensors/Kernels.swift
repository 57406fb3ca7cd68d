/// Element loops shared by the ops, pre-specialised for Float and Double so generic callers stay fast.
enum BinaryOp { case add, sub, mul, div, min, max }

enum Kernels {
    /// Elements per parallel chunk of an elementwise kernel (below about twice this, a kernel runs on one thread).
    static let elementGrain = 1 << 15

    /// Runs body(lo, hi) over slices lo..<hi of the outermost dim of `shape`, in parallel when the tensor is
    /// large. Elementwise kernels only: each element is computed the same way whatever the cut.
    @inline(__always)
    static func outerSlices(_ shape: [Int], _ body: @escaping (Int, Int) -> Void) {
        guard let outer = shape.first, outer > 1 else { body(0, shape.first ?? 1); return }
        let inner = Swift.max(1, shape.dropFirst().reduce(1, *))
        Parallel.forEach(outer, grain: Swift.max(1, elementGrain / inner)) { r in body(r.lowerBound, r.upperBound) }
    }

    /// out = a ∘ b with broadcasting; `out` is contiguous with the broadcast shape.
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    static func binary<S: TensorScalar>(_ op: BinaryOp, _ a: Tensor<S>, _ b: Tensor<S>, _ out: Tensor<S>) {
        let sa = a.broadcastStrides(to: out.shape), sb = b.broadcastStrides(to: out.shape)
        let pa = a.storage.pointer, pb = b.storage.pointer, po = out.pointer
        let so = Tensor<S>.contiguousStrides(out.shape), shape = out.shape
        let aOff = a.offset, bOff = b.offset
        outerSlices(shape) { lo, hi in
        var sub = shape
        if !sub.isEmpty { sub[0] = hi - lo }
        let base = sub.isEmpty ? [aOff, bOff, 0] : [aOff + lo * sa[0], bOff + lo * sb[0], lo * so[0]]
        Strided.rows(shape: sub, strides: [sa, sb, so], base: base) { off, n, inner in
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
    }

    /// dst += src, `dst` contiguous, `src` any strides with the same shape.
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    static func addInPlace<S: TensorScalar>(_ dst: Tensor<S>, _ src: Tensor<S>) {
        let pd = dst.pointer, ps = src.storage.pointer
        let sd = Tensor<S>.contiguousStrides(dst.shape), ss0 = src.strides, shape = dst.shape, srcOff = src.offset
        outerSlices(shape) { lo, hi in
            var sub = shape
            if !sub.isEmpty { sub[0] = hi - lo }
            let base = sub.isEmpty ? [0, srcOff] : [lo * sd[0], srcOff + lo * ss0[0]]
            Strided.rows(shape: sub, strides: [sd, ss0], base: base) { off, n, inner in
                let d = pd + off[0], s = ps + off[1], ss = inner[1]
                if ss == 1 { for i in 0..<n { d[i] += s[i] } } else { for i in 0..<n { d[i] += s[i * ss] } }
            }
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

    /// Largest element of a contiguous row in eight lanes; NaNs are skipped and an all-NaN or empty row gives −∞,
    /// exactly as the scalar `where x > max` loop it replaces.
    @inline(__always)
    static func rowMax<S: TensorScalar>(_ x: UnsafePointer<S>, _ n: Int) -> S {
        // eight independent lanes written as scalars: `v > m ? v : m` is one maxps per lane group
        var m0 = -S.infinity, m1 = m0, m2 = m0, m3 = m0, m4 = m0, m5 = m0, m6 = m0, m7 = m0
        var i = 0
        while i + 8 <= n {
            let p = x + i
            m0 = p[0] > m0 ? p[0] : m0; m1 = p[1] > m1 ? p[1] : m1; m2 = p[2] > m2 ? p[2] : m2; m3 = p[3] > m3 ? p[3] : m3
            m4 = p[4] > m4 ? p[4] : m4; m5 = p[5] > m5 ? p[5] : m5; m6 = p[6] > m6 ? p[6] : m6; m7 = p[7] > m7 ? p[7] : m7
            i += 8
        }
        m0 = m1 > m0 ? m1 : m0; m2 = m3 > m2 ? m3 : m2; m4 = m5 > m4 ? m5 : m4; m6 = m7 > m6 ? m7 : m6
        m0 = m2 > m0 ? m2 : m0; m4 = m6 > m4 ? m6 : m4
        var m = m4 > m0 ? m4 : m0
        while i < n { if x[i] > m { m = x[i] }; i += 1 }
        return m
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

extension Kernels {
    /// Rows per piece of a column-sum: the pieces (not the threads) fix the order of the additions.
    static let columnPiece = 256

    /// Σ over rows of a contiguous (rows, cols) matrix → (cols). Partial sums of fixed 256-row pieces run on the
    /// pool and are added in piece order, so the bits do not depend on the thread count.
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    static func columnSums<S: TensorScalar>(_ x: UnsafeMutablePointer<S>, rows: Int, cols: Int) -> Tensor<S> {
        let pieces = Swift.max(1, (rows + columnPiece - 1) / columnPiece)
        let partial = Tensor<S>(uninitialized: [pieces, cols])
        let pp = partial.pointer
        Parallel.pieces(rows, piece: columnPiece) { c, r in
            let acc = pp + c * cols
            acc.update(repeating: 0, count: cols)
            for i in r { let row = x + i * cols; for j in 0..<cols { acc[j] += row[j] } }
        }
        return sumPieces(partial)
    }

    /// (pieces, cols) → (cols): the partial sums added in piece order.
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    static func sumPieces<S: TensorScalar>(_ partial: Tensor<S>) -> Tensor<S> {
        let pieces = partial.shape[0], cols = partial.shape[1]
        let out = Tensor<S>.zeros([cols])
        for c in 0..<pieces { let acc = partial.pointer + c * cols; for j in 0..<cols { out.pointer[j] += acc[j] } }
        return out
    }
}
