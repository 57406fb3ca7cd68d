/// The block kernels of `QuantizedMatrix.multiply` for the 32-element types, after ggml-cpu's AVX2 code.
///
/// Each activation row is rounded to Q8 blocks first (`quantize_row_q8_0` / `q8_1`: amax/127 as the scale,
/// x·(127/amax) rounded to nearest-even; Q8_1 also keeps s = d·Σq; d and s are stored as f16). The products of a
/// weight block with an activation block are then summed exactly in 8 lanes, lane k holding elements 4k…4k+3 (what
/// `mul_sum_i8_pairs_float` leaves after maddubs and madd), scaled by d_w·d_x with one FMA into 8 float
/// accumulators, and the accumulators summed in `hsum_float_8`'s order; Q4_1/Q5_1 add Σ m_w·s_x at the end.
///
/// The integer sums are computed in Float, which is exact (|Σ| < 2²⁴): an activation block is stored as 32 floats in
/// "quad order" (vector j, lane k = element 4k + j), and a weight block is decoded into the same order straight from
/// its packed words (byte j of word k, low nibbles for lanes 0…3, high nibbles for lanes 4…7), so lane k of
/// w0·x0 + w1·x1 + w2·x2 + w3·x3 is exactly ggml's lane k.
enum QuantKernels {
    typealias V8 = SIMD8<Float>
    typealias I8 = SIMD8<Int32>

    /// One weight block in quad order, its scale and (Q4_1, Q5_1) its min.
    struct Block { var w0: V8, w1: V8, w2: V8, w3: V8, d: Float, m: Float }

    /// Activation rows as Q8 blocks: q (n, blocks, 32) in quad order, d and s (n, blocks).
    struct Activations {
        let q: UnsafeMutablePointer<Float>, d: UnsafeMutablePointer<Float>, s: UnsafeMutablePointer<Float>
        let blocks: Int
        init(n: Int, blocks: Int) {
            self.blocks = blocks
            q = .allocate(capacity: n * blocks * 32); d = .allocate(capacity: n * blocks); s = .allocate(capacity: n * blocks)
        }
        func deallocate() { q.deallocate(); d.deallocate(); s.deallocate() }
    }

    /// Rounds x: (n, cols) to Q8_0 (or with `sums`, Q8_1) blocks as ggml's AVX2 `quantize_row_q8_0/1` do.
    static func quantize(_ x: UnsafePointer<Float>, n: Int, cols: Int, sums: Bool) -> Activations {
        let blocks = cols / 32
        let a = Activations(n: n, blocks: blocks)
        for i in 0..<n {
            for b in 0..<blocks {
                let src = UnsafeRawPointer(x + i * cols + b * 32)
                let v = (src.loadUnaligned(as: V8.self), src.loadUnaligned(fromByteOffset: 32, as: V8.self),
                         src.loadUnaligned(fromByteOffset: 64, as: V8.self), src.loadUnaligned(fromByteOffset: 96, as: V8.self))
                let amax = pointwiseMax(pointwiseMax(pointwiseMax(v.0, -v.0), pointwiseMax(v.1, -v.1)),
                                        pointwiseMax(pointwiseMax(v.2, -v.2), pointwiseMax(v.3, -v.3))).max()
                let d = amax / 127
                let id: Float = amax != 0 ? 127 / amax : 0
                let r = ((v.0 * id).rounded(.toNearestOrEven), (v.1 * id).rounded(.toNearestOrEven),
                         (v.2 * id).rounded(.toNearestOrEven), (v.3 * id).rounded(.toNearestOrEven))
                let k = i * blocks + b
                a.d[k] = Float(Float16(d))
                // element e = 8·vector + lane goes to quad slot (e mod 4)·8 + e/4
                let q = a.q + k * 32
                for l in 0..<8 {
                    for (vi, vec) in [r.0, r.1, r.2, r.3].enumerated() {
                        let e = 8 * vi + l
                        q[(e & 3) * 8 + (e >> 2)] = vec[l]
                    }
                }
                if sums { a.s[k] = Float(Float16(d * (r.0 + r.1 + r.2 + r.3).sum())) }
            }
        }
        return a
    }

    /// hsum_float_8: ((a0+a4) + (a2+a6)) + ((a1+a5) + (a3+a7)).
    @inline(__always) static func hsum(_ a: V8) -> Float {
        let s4 = a.highHalf + a.lowHalf
        let s2 = s4.lowHalf + s4.highHalf
        return s2[0] + s2[1]
    }

    /// y: (n, rows) = x · Wᵀ for a 32-element quant type; false for the other types.
    static func multiply(_ w: QuantizedMatrix, _ x: UnsafePointer<Float>, n: Int, into y: UnsafeMutablePointer<Float>) -> Bool {
        switch w.type {
        case .q4_0: run(Q4_0.self, w, x, n: n, into: y)
        case .q4_1: run(Q4_1.self, w, x, n: n, into: y)
        case .q5_0: run(Q5_0.self, w, x, n: n, into: y)
        case .q5_1: run(Q5_1.self, w, x, n: n, into: y)
        case .q8_0: run(Q8_0.self, w, x, n: n, into: y)
        default: return false
        }
        return true
    }

    /// Output rows per chunk (results do not depend on it: each output is computed whole by one chunk).
    static let rowsPerChunk = 32

    static func run<K: BlockKernel>(_: K.Type, _ w: QuantizedMatrix, _ x: UnsafePointer<Float>, n: Int, into y: UnsafeMutablePointer<Float>) {
        if n < 4 { runPairs(K.self, w, x, n: n, into: y); return }
        let blocks = w.cols / 32, rows = w.rows
        let a = quantize(x, n: n, cols: w.cols, sums: K.usesSums)
        defer { a.deallocate() }
        let chunks = (rows + rowsPerChunk - 1) / rowsPerChunk
        let base = w.base, rowBytes = w.rowBytes
        Parallel.run(chunks: chunks, work: n * rows * w.cols) { c in
            let r0 = c * rowsPerChunk, r1 = Swift.min(rows, r0 + rowsPerChunk)
            for r in r0..<r1 {
                let wr = base + r * rowBytes
                var i = 0
                while i + 4 <= n {
                    let s = dot4(K.self, wr, blocks, a, i)
                    y[i * rows + r] = s.0; y[(i + 1) * rows + r] = s.1; y[(i + 2) * rows + r] = s.2; y[(i + 3) * rows + r] = s.3
                    i += 4
                }
                while i < n { y[i * rows + r] = dot1(K.self, wr, blocks, a, i); i += 1 }
            }
        }
    }

    /// Decoding (n < 4): two weight rows per pass over an activation row, so the two rows' FMA chains overlap
    /// and share the activation loads (each row's sum is still formed in ggml's order).
    static func runPairs<K: BlockKernel>(_: K.Type, _ w: QuantizedMatrix, _ x: UnsafePointer<Float>, n: Int, into y: UnsafeMutablePointer<Float>) {
        let blocks = w.cols / 32, rows = w.rows
        let a = quantize(x, n: n, cols: w.cols, sums: K.usesSums)
        defer { a.deallocate() }
        let chunks = (rows + rowsPerChunk - 1) / rowsPerChunk
        let base = w.base, rowBytes = w.rowBytes
        Parallel.run(chunks: chunks, work: n * rows * w.cols) { c in
            let r0 = c * rowsPerChunk, r1 = Swift.min(rows, r0 + rowsPerChunk)
            for i in 0..<n {
                var r = r0
                while r + 2 <= r1 {
                    let s = dot2(K.self, base + r * rowBytes, base + (r + 1) * rowBytes, blocks, a, i)
                    y[i * rows + r] = s.0; y[i * rows + r + 1] = s.1
                    r += 2
                }
                if r < r1 { y[i * rows + r] = dot1(K.self, base + r * rowBytes, blocks, a, i) }
            }
        }
    }

    /// Weight rows at w and v · activation row i.
    @inline(__always)
    static func dot2<K: BlockKernel>(_: K.Type, _ w: UnsafeRawPointer, _ v: UnsafeRawPointer, _ blocks: Int, _ a: Activations, _ i: Int) -> (Float, Float) {
        var acc0 = V8(), acc1 = V8()
        var m0: Float = 0, m1: Float = 0
        let xq = UnsafeRawPointer(a.q + i * blocks * 32), xd = a.d + i * blocks, xs = a.s + i * blocks
        for b in 0..<blocks {
            let k0 = K.decode(w + b * K.blockBytes), k1 = K.decode(v + b * K.blockBytes)
            let x = xq + b * 128
            let x0 = x.loadUnaligned(as: V8.self), x1 = x.loadUnaligned(fromByteOffset: 32, as: V8.self)
            let x2 = x.loadUnaligned(fromByteOffset: 64, as: V8.self), x3 = x.loadUnaligned(fromByteOffset: 96, as: V8.self)
            let xy0 = (k0.w0 * x0).addingProduct(k0.w1, x1).addingProduct(k0.w2, x2).addingProduct(k0.w3, x3)
            let xy1 = (k1.w0 * x0).addingProduct(k1.w1, x1).addingProduct(k1.w2, x2).addingProduct(k1.w3, x3)
            acc0 = acc0.addingProduct(V8(repeating: k0.d * xd[b]), xy0)
            acc1 = acc1.addingProduct(V8(repeating: k1.d * xd[b]), xy1)
            if K.usesSums { m0 = m0.addingProduct(k0.m, xs[b]); m1 = m1.addingProduct(k1.m, xs[b]) }
        }
        if K.usesSums { return (hsum(acc0) + m0, hsum(acc1) + m1) }
        return (hsum(acc0), hsum(acc1))
    }

    /// One weight row (at w) · activation row i.
    @inline(__always)
    static func dot1<K: BlockKernel>(_: K.Type, _ w: UnsafeRawPointer, _ blocks: Int, _ a: Activations, _ i: Int) -> Float {
        var acc = V8()
        var summs: Float = 0
        let xq = UnsafeRawPointer(a.q + i * blocks * 32), xd = a.d + i * blocks, xs = a.s + i * blocks
        for b in 0..<blocks {
            let k = K.decode(w + b * K.blockBytes)
            let x = xq + b * 128
            var xy = k.w0 * x.loadUnaligned(as: V8.self)
            xy = xy.addingProduct(k.w1, x.loadUnaligned(fromByteOffset: 32, as: V8.self))
            xy = xy.addingProduct(k.w2, x.loadUnaligned(fromByteOffset: 64, as: V8.self))
            xy = xy.addingProduct(k.w3, x.loadUnaligned(fromByteOffset: 96, as: V8.self))
            acc = acc.addingProduct(V8(repeating: k.d * xd[b]), xy)
            if K.usesSums { summs = summs.addingProduct(k.m, xs[b]) }
        }
        return K.usesSums ? hsum(acc) + summs : hsum(acc)
    }

    /// One weight row · activation rows i…i+3 (the block is decoded once for the four).
    @inline(__always)
    static func dot4<K: BlockKernel>(_: K.Type, _ w: UnsafeRawPointer, _ blocks: Int, _ a: Activations, _ i: Int) -> (Float, Float, Float, Float) {
        var acc0 = V8(), acc1 = V8(), acc2 = V8(), acc3 = V8()
        var m0: Float = 0, m1: Float = 0, m2: Float = 0, m3: Float = 0
        let stride = blocks * 128
        let xq = UnsafeRawPointer(a.q + i * blocks * 32), xd = a.d + i * blocks, xs = a.s + i * blocks
        @inline(__always) func xy(_ k: Block, _ x: UnsafeRawPointer) -> V8 {
            var s = k.w0 * x.loadUnaligned(as: V8.self)
            s = s.addingProduct(k.w1, x.loadUnaligned(fromByteOffset: 32, as: V8.self))
            s = s.addingProduct(k.w2, x.loadUnaligned(fromByteOffset: 64, as: V8.self))
            return s.addingProduct(k.w3, x.loadUnaligned(fromByteOffset: 96, as: V8.self))
        }
        for b in 0..<blocks {
            let k = K.decode(w + b * K.blockBytes)
            let x = xq + b * 128
            acc0 = acc0.addingProduct(V8(repeating: k.d * xd[b]), xy(k, x))
            acc1 = acc1.addingProduct(V8(repeating: k.d * xd[b + blocks]), xy(k, x + stride))
            acc2 = acc2.addingProduct(V8(repeating: k.d * xd[b + 2 * blocks]), xy(k, x + 2 * stride))
            acc3 = acc3.addingProduct(V8(repeating: k.d * xd[b + 3 * blocks]), xy(k, x + 3 * stride))
            if K.usesSums {
                m0 = m0.addingProduct(k.m, xs[b]); m1 = m1.addingProduct(k.m, xs[b + blocks])
                m2 = m2.addingProduct(k.m, xs[b + 2 * blocks]); m3 = m3.addingProduct(k.m, xs[b + 3 * blocks])
            }
        }
        if K.usesSums { return (hsum(acc0) + m0, hsum(acc1) + m1, hsum(acc2) + m2, hsum(acc3) + m3) }
        return (hsum(acc0), hsum(acc1), hsum(acc2), hsum(acc3))
    }
}

/// A 32-element block type: its size, whether its activations carry sums (Q8_1), and its decoder into quad order.
protocol BlockKernel {
    static var blockBytes: Int { get }
    static var usesSums: Bool { get }
    static func decode(_ p: UnsafeRawPointer) -> QuantKernels.Block
}

extension BlockKernel {
    typealias V8 = SIMD8<Float>
    typealias I8 = SIMD8<Int32>
    /// 16 bytes of nibbles as 8 words: words 0…3 the bytes (low nibbles: elements 4k + j), words 4…7 the same
    /// shifted right by 4 (high nibbles: elements 16 + 4(k − 4) + j); element (k, j) is then bits 8j…8j+3 of word k.
    @inline(__always) static func nibbleWords(_ p: UnsafeRawPointer) -> SIMD8<Int32> {
        let raw = p.loadUnaligned(as: SIMD4<Int32>.self)
        return SIMD8<Int32>(lowHalf: raw, highHalf: raw &>> 4)
    }
    /// The 5th bits of a Q5 block: lane k of quad j is bit 4k + j of qh, as 0 or 16.
    @inline(__always) static func highBits(_ qh: UInt32, _ j: Int32) -> SIMD8<Int32> {
        let v = SIMD8<Int32>(repeating: Int32(bitPattern: qh)) &>> SIMD8<Int32>(0, 4, 8, 12, 16, 20, 24, 28)
        return ((v &>> j) & 1) &<< 4
    }
    @inline(__always) static func nib(_ v: SIMD8<Int32>, _ j: Int32) -> SIMD8<Int32> { (v &>> (8 * j)) & 0xF }
    /// Small integers (|i| < 2²²) to Float exactly, inline: i added to the mantissa of 1.5·2²³, minus 1.5·2²³ (the
    /// generic SIMD8<Float>(SIMD8<Int32>) initialiser is an out-of-line call per block, 28% of decoding).
    @inline(__always) static func V(_ v: SIMD8<Int32>) -> V8 {
        unsafeBitCast(v &+ 0x4B40_0000, to: V8.self) - V8(repeating: 12_582_912)
    }
    @inline(__always) static func qh(_ p: UnsafeRawPointer, _ o: Int) -> UInt32 {
        UInt32(littleEndian: p.loadUnaligned(fromByteOffset: o, as: UInt32.self))
    }
}

/// d f16, qs u8[16]: d·(q − 8).
enum Q4_0: BlockKernel {
    static let blockBytes = 18
    static let usesSums = false
    @inline(__always) static func decode(_ p: UnsafeRawPointer) -> QuantKernels.Block {
        let v = nibbleWords(p + 2)
        return .init(w0: V(nib(v, 0) &- 8), w1: V(nib(v, 1) &- 8), w2: V(nib(v, 2) &- 8), w3: V(nib(v, 3) &- 8),
                     d: GGMLQuant.half(p, 0), m: 0)
    }
}

/// d f16, m f16, qs u8[16]: d·q + m.
enum Q4_1: BlockKernel {
    static let blockBytes = 20
    static let usesSums = true
    @inline(__always) static func decode(_ p: UnsafeRawPointer) -> QuantKernels.Block {
        let v = nibbleWords(p + 4)
        return .init(w0: V(nib(v, 0)), w1: V(nib(v, 1)), w2: V(nib(v, 2)), w3: V(nib(v, 3)),
                     d: GGMLQuant.half(p, 0), m: GGMLQuant.half(p, 2))
    }
}

/// d f16, qh u32, qs u8[16]: d·(q − 16).
enum Q5_0: BlockKernel {
    static let blockBytes = 22
    static let usesSums = false
    @inline(__always) static func decode(_ p: UnsafeRawPointer) -> QuantKernels.Block {
        let v = nibbleWords(p + 6), h = qh(p, 2)
        return .init(w0: V((nib(v, 0) | highBits(h, 0)) &- 16), w1: V((nib(v, 1) | highBits(h, 1)) &- 16),
                     w2: V((nib(v, 2) | highBits(h, 2)) &- 16), w3: V((nib(v, 3) | highBits(h, 3)) &- 16),
                     d: GGMLQuant.half(p, 0), m: 0)
    }
}

/// d f16, m f16, qh u32, qs u8[16]: d·q + m.
enum Q5_1: BlockKernel {
    static let blockBytes = 24
    static let usesSums = true
    @inline(__always) static func decode(_ p: UnsafeRawPointer) -> QuantKernels.Block {
        let v = nibbleWords(p + 8), h = qh(p, 4)
        return .init(w0: V(nib(v, 0) | highBits(h, 0)), w1: V(nib(v, 1) | highBits(h, 1)),
                     w2: V(nib(v, 2) | highBits(h, 2)), w3: V(nib(v, 3) | highBits(h, 3)),
                     d: GGMLQuant.half(p, 0), m: GGMLQuant.half(p, 2))
    }
}

/// d f16, qs i8[32]: d·q. Element (k, j) is byte j of word k, sign-extended by shifting it to the top and back.
enum Q8_0: BlockKernel {
    static let blockBytes = 34
    static let usesSums = false
    @inline(__always) static func decode(_ p: UnsafeRawPointer) -> QuantKernels.Block {
        let v = p.loadUnaligned(fromByteOffset: 2, as: SIMD8<Int32>.self)
        return .init(w0: V((v &<< 24) &>> 24), w1: V((v &<< 16) &>> 24), w2: V((v &<< 8) &>> 24), w3: V(v &>> 24),
                     d: GGMLQuant.half(p, 0), m: 0)
    }
}
