/// Iteration over strided views. Shapes are first coalesced (size-1 dims dropped, dims that are contiguous for
/// every operand merged), so a contiguous tensor is one row and the per-row overhead vanishes.
enum Strided {
    /// Drops size-1 dims and merges adjacent dims that are contiguous in every operand.
    static func coalesce(_ shape: [Int], _ strides: [[Int]]) -> (shape: [Int], strides: [[Int]]) {
        var sh: [Int] = []
        var st: [[Int]] = Array(repeating: [], count: strides.count)
        for d in 0..<shape.count where shape[d] != 1 {
            if let last = sh.last, strides.indices.allSatisfy({ st[$0].last! == strides[$0][d] * shape[d] }) {
                sh[sh.count - 1] = last * shape[d]
                for j in strides.indices { st[j][st[j].count - 1] = strides[j][d] }
            } else {
                sh.append(shape[d])
                for j in strides.indices { st[j].append(strides[j][d]) }
            }
        }
        if sh.isEmpty { sh = [1]; for j in strides.indices { st[j] = [1] } }
        return (sh, st)
    }

    /// Calls `body(offsets, n, innerStrides)` for every innermost row; `offsets[j]` is operand j's element offset.
    @inline(__always)
    static func rows(shape: [Int], strides: [[Int]], base: [Int],
                     _ body: (UnsafeMutableBufferPointer<Int>, Int, UnsafeBufferPointer<Int>) -> Void) {
        if shape.contains(0) { return }
        let (sh, st) = coalesce(shape, strides)
        let k = st.count, outer = sh.count - 1
        let inner = st.map { $0[outer] }
        var off = base
        var idx = [Int](repeating: 0, count: max(outer, 0))
        inner.withUnsafeBufferPointer { innerBuf in
            off.withUnsafeMutableBufferPointer { offBuf in
                while true {
                    body(offBuf, sh[outer], innerBuf)
                    var d = outer - 1
                    while d >= 0 {
                        idx[d] += 1
                        for j in 0..<k { offBuf[j] += st[j][d] }
                        if idx[d] < sh[d] { break }
                        for j in 0..<k { offBuf[j] -= st[j][d] * sh[d] }
                        idx[d] = 0
                        d -= 1
                    }
                    if d < 0 { return }
                }
            }
        }
    }

    @_specialize(where S == Float)
    @_specialize(where S == Double)
    static func copy<S: TensorScalar>(shape: [Int], src: UnsafeMutablePointer<S>, srcOffset: Int, srcStrides: [Int], dst: UnsafeMutablePointer<S>) {
        let sd = Tensor<S>.contiguousStrides(shape)
        Kernels.outerSlices(shape) { lo, hi in
            var sub = shape
            if !sub.isEmpty { sub[0] = hi - lo }
            let base = sub.isEmpty ? [srcOffset, 0] : [srcOffset + lo * srcStrides[0], lo * sd[0]]
            rows(shape: sub, strides: [srcStrides, sd], base: base) { off, n, inner in
                let s = src + off[0], d = dst + off[1], ss = inner[0]
                if ss == 1 { d.update(from: s, count: n) } else { for i in 0..<n { d[i] = s[i * ss] } }
            }
        }
    }

    /// Broadcast shape of two shapes (numpy rules), or nil when they are incompatible.
    static func broadcast(_ a: [Int], _ b: [Int]) -> [Int]? {
        let r = max(a.count, b.count)
        var out = [Int](repeating: 1, count: r)
        for i in 0..<r {
            let x = i < r - a.count ? 1 : a[i - (r - a.count)]
            let y = i < r - b.count ? 1 : b[i - (r - b.count)]
            if x == y || y == 1 { out[i] = x } else if x == 1 { out[i] = y } else { return nil }
        }
        return out
    }
}

extension Tensor {
    /// Strides of this tensor viewed at the broadcast shape `to` (0 on broadcast dims).
    func broadcastStrides(to target: [Int]) -> [Int] {
        let pad = target.count - rank
        return (0..<target.count).map { i in
            i < pad ? 0 : (shape[i - pad] == 1 && target[i] != 1 ? 0 : strides[i - pad])
        }
    }
}
