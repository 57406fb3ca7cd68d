#if GTR_AVX2
import CBLAS
import Foundation
#endif

/// The block kernels of `QuantizedMatrix.multiply` for the 32-element types, after ggml-cpu's AVX2 code.
///
/// Each activation row is rounded to Q8 blocks first (`quantize_row_q8_0` / `q8_1`: amax/127 as the scale,
/// x·(127/amax) rounded to nearest-even; Q8_1 also keeps s = d·Σq; d and s are stored as f16). A weight block is
/// decoded into its 32 integers in element order (Q4_1/Q5_1's unsigned values fit an Int8), and its products with
/// an activation block are summed exactly in 8 lanes, lane k holding elements 4k…4k+3 (`quads`: with AVX2 the
/// same `vpsignb`/`vpmaddubsw`/`vpmaddwd`/`vcvtdq2ps` sequence as ggml's `mul_sum_i8_pairs_float`, or for Q4_1 and
/// Q5_1 `mul_sum_us8_pairs_float`, through `gtr_dot_i8_quads` and `gtr_dot_u8_quads`),
/// scaled by d_w·d_x with one FMA into 8 float accumulators, and the accumulators summed in `hsum_float_8`'s order;
/// Q4_1/Q5_1 add Σ m_w·s_x at the end. The integer sums are exact, so the results are ggml's bit for bit.
enum QuantKernels {
    typealias V8 = SIMD8<Float>
    typealias I8 = SIMD8<Int32>
    typealias B32 = SIMD32<Int8>

    /// One weight block: its 32 integers in element order, its scale and (Q4_1, Q5_1) its min.
    struct Block { var w: B32, d: Float, m: Float }

    /// Activation rows as Q8 blocks: q (n, blocks, 32) Int8 in element order, d and s (n, blocks).
    struct Activations {
        let q: UnsafeMutablePointer<Int8>, d: UnsafeMutablePointer<Float>, s: UnsafeMutablePointer<Float>
        /// With `quadSums`: (n, blocks, 8) −128 × the sums of each four adjacent q (the VNNI tiles' offset terms).
        let s4: UnsafeMutablePointer<Int32>?
        let blocks: Int
        init(n: Int, blocks: Int, quadSums: Bool = false) {
            self.blocks = blocks
            q = .allocate(capacity: n * blocks * 32); d = .allocate(capacity: n * blocks); s = .allocate(capacity: n * blocks)
            s4 = quadSums ? .allocate(capacity: n * blocks * 8) : nil
        }
        func deallocate() { q.deallocate(); d.deallocate(); s.deallocate(); s4?.deallocate() }
        @inline(__always) func block(_ i: Int, _ b: Int) -> B32 {
            UnsafeRawPointer(q + (i * blocks + b) * 32).loadUnaligned(as: B32.self)
        }
    }

    /// Σ w[4k…4k+3]·x[4k…4k+3] in lane k as a Float, exactly (|w|, |x| ≤ 128, so no pair sum saturates; the sums
    /// are below 2¹⁷). `K.unsignedWeights` (values 0…31) skips the sign step, as ggml does for Q4_1 and Q5_1.
    @inline(__always) static func quads<K: BlockKernel>(_: K.Type, _ w: B32, _ x: B32) -> V8 {
        #if GTR_AVX2
        let wv = unsafeBitCast(w, to: SIMD4<Int64>.self), xv = unsafeBitCast(x, to: SIMD4<Int64>.self)
        return K.unsignedWeights ? gtr_dot_u8_quads(wv, xv) : gtr_dot_i8_quads(wv, xv)
        #else
        var r = I8()
        for k in 0..<8 { for j in 0..<4 { r[k] &+= Int32(w[4 * k + j]) &* Int32(x[4 * k + j]) } }
        return unsafeBitCast(r &+ 0x4B40_0000, to: V8.self) - V8(repeating: 12_582_912)
        #endif
    }

    /// Rounds x: (n, cols) to Q8_0 (or with `sums`, Q8_1) blocks as ggml's AVX2 `quantize_row_q8_0/1` do.
    static func quantize(_ x: UnsafePointer<Float>, n: Int, cols: Int, sums: Bool) -> Activations {
        let blocks = cols / 32
        #if GTR_AVX2
        let a = Activations(n: n, blocks: blocks, quadSums: useVNNI)
        #else
        let a = Activations(n: n, blocks: blocks)
        #endif
        @inline(__always) func abs8(_ x: V8) -> V8 { unsafeBitCast(unsafeBitCast(x, to: SIMD8<UInt32>.self) & 0x7FFF_FFFF, to: V8.self) }
        @inline(__always) func max8(_ a: V8, _ b: V8) -> V8 { a.replacing(with: b, where: b .> a) }
        for i in 0..<n {
            for b in 0..<blocks {
                let src = UnsafeRawPointer(x + i * cols + b * 32)
                let v = (src.loadUnaligned(as: V8.self), src.loadUnaligned(fromByteOffset: 32, as: V8.self),
                         src.loadUnaligned(fromByteOffset: 64, as: V8.self), src.loadUnaligned(fromByteOffset: 96, as: V8.self))
                // max |x| of the block (the order of a max does not matter)
                let amax = max8(max8(abs8(v.0), abs8(v.1)), max8(abs8(v.2), abs8(v.3))).max()
                let d = amax / 127
                let id: Float = amax != 0 ? 127 / amax : 0
                let r = ((v.0 * id).rounded(.toNearestOrEven), (v.1 * id).rounded(.toNearestOrEven),
                         (v.2 * id).rounded(.toNearestOrEven), (v.3 * id).rounded(.toNearestOrEven))
                let k = i * blocks + b
                a.d[k] = Float(Float16(d))
                let q = a.q + k * 32
                for (vi, vec) in [r.0, r.1, r.2, r.3].enumerated() {
                    let ints = unsafeBitCast(vec + V8(repeating: 12_582_912), to: I8.self) &- 0x4B40_0000
                    for l in 0..<8 { q[8 * vi + l] = Int8(truncatingIfNeeded: ints[l]) }
                }
                if sums { a.s[k] = Float(Float16(d * (r.0 + r.1 + r.2 + r.3).sum())) }
                if let s4 = a.s4 { for l in 0..<8 { s4[k * 8 + l] = -128 * (Int32(q[4 * l]) + Int32(q[4 * l + 1]) + Int32(q[4 * l + 2]) + Int32(q[4 * l + 3])) } }
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

    #if GTR_AVX2
    /// Whether the rows go through the AVX-VNNI kernels of the CBLAS shim (`vnni.h`: the same sums with vpdpbusd in
    /// place of vpmaddubsw + vpmaddwd, same bits); GTR_NO_VNNI=1 keeps the Swift kernels, for comparisons.
    static let hasVNNI = gtr_cpu_has_avxvnni() != 0
    nonisolated(unsafe) static var useVNNI = hasVNNI && ProcessInfo.processInfo.environment["GTR_NO_VNNI"] != "1"
    typealias VNNIRows = (UnsafePointer<UInt8>?, Int, Int, Int, Int, UnsafePointer<Int8>?, UnsafePointer<Float>?,
                          UnsafePointer<Float>?, UnsafePointer<Int32>?, Int, UnsafeMutablePointer<Float>?, Int) -> Void
    #endif

    /// Output rows per chunk (results do not depend on it: each output is computed whole by one chunk).
    static let rowsPerChunk = 32

    static func run<K: BlockKernel>(_: K.Type, _ w: QuantizedMatrix, _ x: UnsafePointer<Float>, n: Int, into y: UnsafeMutablePointer<Float>) {
        let a = quantize(x, n: n, cols: w.cols, sums: K.usesSums)
        defer { a.deallocate() }
        let chunks = (w.rows + rowsPerChunk - 1) / rowsPerChunk
        Parallel.run(chunks: chunks, work: n * w.rows * w.cols) { c in
            rowsChunk(K.self, w, a, n: n, c * rowsPerChunk, Swift.min(w.rows, (c + 1) * rowsPerChunk), into: y)
        }
    }

    /// y_m: (n, rows_m) = x · W_mᵀ for several matrices over the same x (a layer's q, k and v; gate and up): x is
    /// rounded once and one pool dispatch covers every matrix's rows. false (nothing done) unless every matrix is
    /// a 32-element type with x's width.
    static func multiply(_ ws: [QuantizedMatrix], _ x: UnsafePointer<Float>, n: Int, into ys: [UnsafeMutablePointer<Float>]) -> Bool {
        guard let cols = ws.first?.cols, ws.allSatisfy({ $0.cols == cols && [.q4_0, .q4_1, .q5_0, .q5_1, .q8_0].contains($0.type) }) else { return false }
        let a = quantize(x, n: n, cols: cols, sums: ws.contains { $0.type == .q4_1 || $0.type == .q5_1 })
        defer { a.deallocate() }
        var tasks: [(m: Int, r0: Int, r1: Int)] = []
        for (m, w) in ws.enumerated() {
            for r0 in stride(from: 0, to: w.rows, by: rowsPerChunk) { tasks.append((m, r0, Swift.min(w.rows, r0 + rowsPerChunk))) }
        }
        Parallel.run(chunks: tasks.count, work: n * cols * ws.reduce(0) { $0 + $1.rows }) { t in
            let (m, r0, r1) = tasks[t], w = ws[m], y = ys[m]
            switch w.type {
            case .q4_0: rowsChunk(Q4_0.self, w, a, n: n, r0, r1, into: y)
            case .q4_1: rowsChunk(Q4_1.self, w, a, n: n, r0, r1, into: y)
            case .q5_0: rowsChunk(Q5_0.self, w, a, n: n, r0, r1, into: y)
            case .q5_1: rowsChunk(Q5_1.self, w, a, n: n, r0, r1, into: y)
            default: rowsChunk(Q8_0.self, w, a, n: n, r0, r1, into: y)
            }
        }
        return true
    }

    /// Output rows r0..<r1 of y: (n, rows) for every activation row. Prompts (n ≥ 4) decode each weight block once
    /// for four activation rows; decoding (n < 4) takes two weight rows per pass over an activation row, so the two
    /// rows' FMA chains overlap and share the activation loads. Each output's sum is formed in ggml's order either way.
    @inline(__always)
    static func rowsChunk<K: BlockKernel>(_: K.Type, _ w: QuantizedMatrix, _ a: Activations, n: Int, _ r0: Int, _ r1: Int, into y: UnsafeMutablePointer<Float>) {
        let blocks = w.cols / 32, rows = w.rows, base = w.base, rowBytes = w.rowBytes
        #if GTR_AVX2
        // the choice was made once, when x was rounded (s4 is kept only for the VNNI tiles), so a benchmark or test
        // flipping `useVNNI` meanwhile cannot send one product down both paths
        if let s4 = a.s4, let vnni = K.vnniRows {
            vnni(base.assumingMemoryBound(to: UInt8.self), rowBytes, r0, r1, blocks, a.q, a.d, a.s, s4, n, y, rows)
            return
        }
        #endif
        if n >= 4 {
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
            return
        }
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

    /// Weight rows at w and v · activation row i.
    @inline(__always)
    static func dot2<K: BlockKernel>(_: K.Type, _ w: UnsafeRawPointer, _ v: UnsafeRawPointer, _ blocks: Int, _ a: Activations, _ i: Int) -> (Float, Float) {
        var acc0 = V8(), acc1 = V8()
        var m0: Float = 0, m1: Float = 0
        let xd = a.d + i * blocks, xs = a.s + i * blocks
        for b in 0..<blocks {
            let k0 = K.decode(w + b * K.blockBytes), k1 = K.decode(v + b * K.blockBytes)
            let x = a.block(i, b)
            acc0 = acc0.addingProduct(V8(repeating: k0.d * xd[b]), quads(K.self, k0.w, x))
            acc1 = acc1.addingProduct(V8(repeating: k1.d * xd[b]), quads(K.self, k1.w, x))
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
        let xd = a.d + i * blocks, xs = a.s + i * blocks
        for b in 0..<blocks {
            let k = K.decode(w + b * K.blockBytes)
            acc = acc.addingProduct(V8(repeating: k.d * xd[b]), quads(K.self, k.w, a.block(i, b)))
            if K.usesSums { summs = summs.addingProduct(k.m, xs[b]) }
        }
        return K.usesSums ? hsum(acc) + summs : hsum(acc)
    }

    /// One weight row · activation rows i…i+3 (the block is decoded once for the four).
    @inline(__always)
    static func dot4<K: BlockKernel>(_: K.Type, _ w: UnsafeRawPointer, _ blocks: Int, _ a: Activations, _ i: Int) -> (Float, Float, Float, Float) {
        var acc0 = V8(), acc1 = V8(), acc2 = V8(), acc3 = V8()
        var m0: Float = 0, m1: Float = 0, m2: Float = 0, m3: Float = 0
        let xd = a.d + i * blocks, xs = a.s + i * blocks
        for b in 0..<blocks {
            let k = K.decode(w + b * K.blockBytes)
            acc0 = acc0.addingProduct(V8(repeating: k.d * xd[b]), quads(K.self, k.w, a.block(i, b)))
            acc1 = acc1.addingProduct(V8(repeating: k.d * xd[b + blocks]), quads(K.self, k.w, a.block(i + 1, b)))
            acc2 = acc2.addingProduct(V8(repeating: k.d * xd[b + 2 * blocks]), quads(K.self, k.w, a.block(i + 2, b)))
            acc3 = acc3.addingProduct(V8(repeating: k.d * xd[b + 3 * blocks]), quads(K.self, k.w, a.block(i + 3, b)))
            if K.usesSums {
                m0 = m0.addingProduct(k.m, xs[b]); m1 = m1.addingProduct(k.m, xs[b + blocks])
                m2 = m2.addingProduct(k.m, xs[b + 2 * blocks]); m3 = m3.addingProduct(k.m, xs[b + 3 * blocks])
            }
        }
        if K.usesSums { return (hsum(acc0) + m0, hsum(acc1) + m1, hsum(acc2) + m2, hsum(acc3) + m3) }
        return (hsum(acc0), hsum(acc1), hsum(acc2), hsum(acc3))
    }
}

/// A 32-element block type: its size, whether its activations carry sums (Q8_1), and its decoder.
protocol BlockKernel {
    static var blockBytes: Int { get }
    static var usesSums: Bool { get }
    /// Whether the decoded integers are unsigned (0…31).
    static var unsignedWeights: Bool { get }
    static func decode(_ p: UnsafeRawPointer) -> QuantKernels.Block
    #if GTR_AVX2
    /// The type's row kernel in `vnni.h`, if it has one.
    static var vnniRows: QuantKernels.VNNIRows? { get }
    #endif
}

extension BlockKernel {
    typealias B32 = SIMD32<Int8>
    static var unsignedWeights: Bool { usesSums }
    #if GTR_AVX2
    static var vnniRows: QuantKernels.VNNIRows? { nil }
    #endif
    /// 16 bytes of nibbles as 32 values in element order: low nibbles are elements 0…15, high nibbles 16…31.
    @inline(__always) static func nibbles(_ p: UnsafeRawPointer) -> SIMD32<UInt8> {
        let raw = p.loadUnaligned(as: SIMD16<UInt8>.self)
        return SIMD32<UInt8>(lowHalf: raw & 0x0F, highHalf: raw &>> 4)
    }
    /// The 5th bits of a Q5 block: bit e of qh as 0 or 16 for element e.
    @inline(__always) static func highBits(_ qh: UInt32) -> SIMD32<UInt8> {
        var out = SIMD32<UInt8>()
        for e in 0..<32 { out[e] = UInt8(truncatingIfNeeded: (qh >> UInt32(e)) & 1) &<< 4 }
        return out
    }
    @inline(__always) static func qh(_ p: UnsafeRawPointer, _ o: Int) -> UInt32 {
        UInt32(littleEndian: p.loadUnaligned(fromByteOffset: o, as: UInt32.self))
    }
    @inline(__always) static func signed(_ v: SIMD32<UInt8>) -> B32 { unsafeBitCast(v, to: B32.self) }
}

/// d f16, qs u8[16]: d·(q − 8).
enum Q4_0: BlockKernel {
    #if GTR_AVX2
    static var vnniRows: QuantKernels.VNNIRows? { gtr_vnni_rows_q4_0 }
    #endif
    static let blockBytes = 18
    static let usesSums = false
    @inline(__always) static func decode(_ p: UnsafeRawPointer) -> QuantKernels.Block {
        .init(w: signed(nibbles(p + 2)) &- 8, d: GGMLQuant.half(p, 0), m: 0)
    }
}

/// d f16, m f16, qs u8[16]: d·q + m.
enum Q4_1: BlockKernel {
    #if GTR_AVX2
    static var vnniRows: QuantKernels.VNNIRows? { gtr_vnni_rows_q4_1 }
    #endif
    static let blockBytes = 20
    static let usesSums = true
    @inline(__always) static func decode(_ p: UnsafeRawPointer) -> QuantKernels.Block {
        .init(w: signed(nibbles(p + 4)), d: GGMLQuant.half(p, 0), m: GGMLQuant.half(p, 2))
    }
}

/// d f16, qh u32, qs u8[16]: d·(q − 16).
enum Q5_0: BlockKernel {
    static let blockBytes = 22
    static let usesSums = false
    @inline(__always) static func decode(_ p: UnsafeRawPointer) -> QuantKernels.Block {
        .init(w: signed(nibbles(p + 6) | highBits(qh(p, 2))) &- 16, d: GGMLQuant.half(p, 0), m: 0)
    }
}

/// d f16, m f16, qh u32, qs u8[16]: d·q + m.
enum Q5_1: BlockKernel {
    static let blockBytes = 24
    static let usesSums = true
    @inline(__always) static func decode(_ p: UnsafeRawPointer) -> QuantKernels.Block {
        .init(w: signed(nibbles(p + 8) | highBits(qh(p, 4))), d: GGMLQuant.half(p, 0), m: GGMLQuant.half(p, 2))
    }
}

/// d f16, qs i8[32]: d·q.
enum Q8_0: BlockKernel {
    #if GTR_AVX2
    static var vnniRows: QuantKernels.VNNIRows? { gtr_vnni_rows_q8_0 }
    #endif
    static let blockBytes = 34
    static let usesSums = false
    @inline(__always) static func decode(_ p: UnsafeRawPointer) -> QuantKernels.Block {
        .init(w: p.loadUnaligned(fromByteOffset: 2, as: B32.self), d: GGMLQuant.half(p, 0), m: 0)
    }
}
