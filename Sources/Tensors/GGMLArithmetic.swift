import Foundation

/// Float arithmetic in the exact order llama.cpp's CPU backend uses for a llama layer (ggml-cpu built with AVX-512,
/// as `make real-servers` builds it on a machine that has it), so a model run through these kernels rounds the way
/// llama.cpp does and greedy decoding picks the same tokens. Each kernel was checked bit for bit against the
/// tensors llama.cpp computes (its graph callback; `scripts/llama_cpp_dump.py`):
///
/// * `rmsNorm`: squares summed in Double, mean rounded to Float, scale 1/sqrtf(mean + eps), x·scale (`ggml_rms_norm`).
/// * `rope`: θ for pair i is p·s^i built by repeated Float multiplication (s = powf(base, −2/D)), libm cosf/sinf,
///   and the rotation with one FMA per output: x0·c − x1·s = fma(x0, c, −(x1·s)), x0·s + x1·c = fma(x0, s, x1·c).
/// * `exp16`: ggml's 16-lane `ggml_v_expf` (range reduction n = round(x·log2 e), b = x − n·ln2 in two FMAs, a
///   degree-5 polynomial j with j(0) = 1, result j·2ⁿ); `silu` is x / (1 + exp16(0 − x)) and `softmax` sums each
///   block of 16 exponentials with `reduce16` into a Double.
/// * `reduce16`: `_mm512_reduce_add_ps` as GCC expands it (halves added: 16 → 8 → 4, then (0+2) + (1+3)).
/// * F16 dot products (attention: queries and probabilities are rounded to F16 like the F16 KV cache they meet):
///   `dotTiled` is llamafile's tinyBLAS (several query rows: one 16-lane accumulator, FMAs in element order), and
///   `dotStepped` is `ggml_vec_dot_f16` (one query row: four 16-lane accumulators over steps of 64, folded 0+2, 1+3,
///   0+1, leftovers added in Double).
public enum GGMLArithmetic {
    public typealias V16 = SIMD16<Float>

    /// `_mm512_reduce_add_ps` (GCC): 16 → 8 → 4 lanes by adding halves, then (a0 + a2) + (a1 + a3).
    @inline(__always) public static func reduce16(_ a: V16) -> Float {
        let t3 = a.highHalf + a.lowHalf
        let t6 = t3.highHalf + t3.lowHalf
        return (t6[0] + t6[2]) + (t6[1] + t6[3])
    }

    /// ggml's AVX-512 `ggml_v_expf`: e^x to about 1.5 ulp, 0 below about −133 (and for −∞), ∞ above about 133.
    @inline(__always) public static func exp16(_ x: V16) -> V16 {
        let r = V16(repeating: 0x1.8p23)
        let z = r.addingProduct(x, V16(repeating: 0x1.715476p+0))       // z = fma(x, log2 e, r)
        let n = z - r                                                    // n = round(x·log2 e)
        var b = x.addingProduct(-n, V16(repeating: 0x1.62e4p-1))         // b = x − n·ln2_hi
        b = b.addingProduct(-n, V16(repeating: 0x1.7f7d1cp-20))          //     − n·ln2_lo
        let u = b * b
        let p1 = V16(repeating: 0x1.573e2ep-5).addingProduct(V16(repeating: 0x1.0e4020p-7), b)
        let p2 = V16(repeating: 0x1.fffdb6p-2).addingProduct(V16(repeating: 0x1.555e66p-3), b)
        let p3 = p2.addingProduct(p1, u)
        let q = V16(repeating: 1).addingProduct(V16(repeating: 0x1.ffffecp-1), b)
        let j = q.addingProduct(p3, u)                                   // j ≈ e^b
        // j·2ⁿ: 2ⁿ from z's low bits (z = 1.5·2²³ + n) when n is a normal exponent
        let inRange = (n .>= V16(repeating: -126)) .& (n .<= V16(repeating: 127))
        if all(inRange) {
            let k = unsafeBitCast((unsafeBitCast(z, to: SIMD16<UInt32>.self) &<< 23) &+ 0x3F80_0000, to: V16.self)
            return j * k
        }
        var out = V16()
        for l in 0..<16 {
            let nl = n[l]
            if nl.isNaN { out[l] = .nan; continue }
            if abs(nl) > 192 { out[l] = nl <= 0 ? 0 : .infinity; continue }
            out[l] = Float(sign: .plus, exponent: Int(nl), significand: j[l])
        }
        return out
    }

    /// y[i] = x[i]² summed in Double, as `ggml_compute_forward_rms_norm_f32`: y = x · 1/sqrtf(mean + eps).
    public static func rmsNorm(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count n: Int, eps: Float) {
        var sum: Double = 0
        for i in 0..<n { sum += Double(x[i] * x[i]) }
        let mean = Float(sum / Double(n))
        let scale = 1 / (mean + eps).squareRoot()
        for i in 0..<n { y[i] = x[i] * scale }
    }

    /// θ step of RoPE over a head of `dims`: powf(base, −2/dims).
    public static func ropeThetaScale(base: Float, dims: Int) -> Float { powf(base, -2 / Float(dims)) }

    /// Rotates adjacent pairs of `heads` heads of `dims` at `position` in place (ggml's "NORM" rope).
    public static func rope(_ x: UnsafeMutablePointer<Float>, heads: Int, dims: Int, position: Int, thetaScale: Float) {
        var theta = Float(position)
        for i in stride(from: 0, to: dims, by: 2) {
            let c = cosf(theta), s = sinf(theta)
            for h in 0..<heads {
                let p = x + h * dims + i
                let x0 = p[0], x1 = p[1]
                p[0] = (-(x1 * s)).addingProduct(x0, c)
                p[1] = (x1 * c).addingProduct(x0, s)
            }
            theta *= thetaScale
        }
    }

    /// y = silu(g)·u (`ggml_vec_swiglu_f32`): 16 lanes through `exp16`, the tail through libm expf.
    public static func swiglu(_ g: UnsafePointer<Float>, _ u: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count n: Int) {
        var i = 0
        while i + 16 <= n {
            let x = UnsafeRawPointer(g + i).loadUnaligned(as: V16.self)
            let s = x / (V16(repeating: 1) + exp16(V16(repeating: 0) - x))
            UnsafeMutableRawPointer(y + i).storeBytes(of: s * UnsafeRawPointer(u + i).loadUnaligned(as: V16.self), as: V16.self)
            i += 16
        }
        while i < n { y[i] = g[i] / (1 + expf(-g[i])) * u[i]; i += 1 }
    }

    /// In place over x[0..<n] (entries at or past `valid` are masked, i.e. −∞): x = softmax(x) as
    /// `ggml_compute_forward_soft_max_f32` with `ggml_vec_soft_max_f32` (blocks of 16, sums in Double, then x·(1/Σ)).
    public static func softmax(_ x: UnsafeMutablePointer<Float>, valid: Int) {
        var m = -Float.infinity
        for i in 0..<valid { m = Swift.max(m, x[i]) }
        var sum: Double = 0
        var i = 0
        let mv = V16(repeating: m)
        while i < valid {
            var v = V16(repeating: -.infinity)
            let k = Swift.min(16, valid - i)
            if k == 16 { v = UnsafeRawPointer(x + i).loadUnaligned(as: V16.self) } else { for l in 0..<k { v[l] = x[i + l] } }
            let e = exp16(v - mv)
            for l in 0..<k { x[i + l] = e[l] }
            sum += Double(reduce16(e))
            i += 16
        }
        let inv = Float(1 / sum)
        for i in 0..<valid { x[i] *= inv }
    }

    /// Σ a[i]·b[i] over n (a multiple of 16) as tinyBLAS: lane i mod 16 takes FMAs in order, then `reduce16`.
    @inline(__always) public static func dotTiled(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count n: Int) -> Float {
        var acc = V16()
        var i = 0
        while i < n {
            acc = acc.addingProduct(UnsafeRawPointer(a + i).loadUnaligned(as: V16.self), UnsafeRawPointer(b + i).loadUnaligned(as: V16.self))
            i += 16
        }
        return reduce16(acc)
    }

    /// Σ a[i]·b[i] as `ggml_vec_dot_f16` (AVX-512): four accumulators over steps of 64, folded, then the leftovers in
    /// Double.
    @inline(__always) public static func dotStepped(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count n: Int) -> Float {
        var s0 = V16(), s1 = V16(), s2 = V16(), s3 = V16()
        let np = n & ~63
        var i = 0
        @inline(__always) func ld(_ p: UnsafePointer<Float>) -> V16 { UnsafeRawPointer(p).loadUnaligned(as: V16.self) }
        while i < np {
            s0 = s0.addingProduct(ld(a + i), ld(b + i)); s1 = s1.addingProduct(ld(a + i + 16), ld(b + i + 16))
            s2 = s2.addingProduct(ld(a + i + 32), ld(b + i + 32)); s3 = s3.addingProduct(ld(a + i + 48), ld(b + i + 48))
            i += 64
        }
        s0 += s2; s1 += s3; s0 += s1
        var sum = Double(reduce16(s0))
        while i < n { sum += Double(a[i] * b[i]); i += 1 }
        return Float(sum)
    }

    /// One query row of attention over `valid` cached positions: scores q·k_j·scale (`dotTiled` or `dotStepped`),
    /// `softmax`, then out[e] = Σ_j p_j·v_j[e] with p_j rounded to F16 and the sum laid out as the matching product
    /// kernel lays it out (lane j mod 16, and for `dotStepped`'s four accumulators (j / 16) mod 4), folded and
    /// `reduce16`d per element. q, keys and values hold F16-rounded values; key j starts at keys + j·stride.
    /// scores: valid floats of scratch; acc: 64·dims floats of scratch. dims must be a multiple of 16.
    public static func attendRow(q: UnsafePointer<Float>, keys: UnsafePointer<Float>, values: UnsafePointer<Float>, stride: Int,
                                 valid: Int, dims d: Int, scale: Float, tiled: Bool,
                                 scores: UnsafeMutablePointer<Float>, acc: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>) {
        for j in 0..<valid {
            let k = keys + j * stride
            scores[j] = (tiled ? dotTiled(q, k, count: d) : dotStepped(q, k, count: d)) * scale
        }
        softmax(scores, valid: valid)
        let slots = tiled ? 16 : 64
        acc.initialize(repeating: 0, count: slots * d)
        for j in 0..<valid {
            let p = V16(repeating: half(scores[j]))
            let slot = tiled ? (j & 15) : ((j >> 4) & 3) * 16 + (j & 15)
            let dst = UnsafeMutableRawPointer(acc + slot * d), v = UnsafeRawPointer(values + j * stride)
            for e in Swift.stride(from: 0, to: d * 4, by: 64) {
                dst.storeBytes(of: dst.load(fromByteOffset: e, as: V16.self).addingProduct(p, v.loadUnaligned(fromByteOffset: e, as: V16.self)),
                               toByteOffset: e, as: V16.self)
            }
        }
        let a = UnsafeMutableRawPointer(acc)
        @inline(__always) func ld(_ slot: Int, _ e: Int) -> V16 { a.load(fromByteOffset: (slot * d + e) * 4, as: V16.self) }
        for e in Swift.stride(from: 0, to: d, by: 16) {
            // lane l of the accumulator (after ggml_vec_dot_f16's fold 0 += 2, 1 += 3, 0 += 1), for 16 elements
            @inline(__always) func lane(_ l: Int) -> V16 { tiled ? ld(l, e) : (ld(l, e) + ld(32 + l, e)) + (ld(16 + l, e) + ld(48 + l, e)) }
            // reduce16 over the lanes, element-wise: 16 → 8 → 4 by halves, then (0 + 2) + (1 + 3)
            let t0 = lane(8) + lane(0), t1 = lane(9) + lane(1), t2 = lane(10) + lane(2), t3 = lane(11) + lane(3)
            let t4 = lane(12) + lane(4), t5 = lane(13) + lane(5), t6 = lane(14) + lane(6), t7 = lane(15) + lane(7)
            let u0 = t4 + t0, u1 = t5 + t1, u2 = t6 + t2, u3 = t7 + t3
            UnsafeMutableRawPointer(out + e).storeBytes(of: (u0 + u2) + (u1 + u3), as: V16.self)
        }
    }

    /// Float16 round trip (round to nearest even), as ggml stores the KV cache and converts F32 operands of F16
    /// products. Half-precision subnormals (below 2⁻¹⁴, common among attention probabilities) are kept: gtr's
    /// threads run with flush-to-zero, under which the hardware conversion would return 0 for them, while
    /// llama.cpp's keep them. They are multiples of 2⁻²⁴, rounded here exactly in Float.
    @inline(__always) public static func half(_ x: Float) -> Float {
        if abs(x) >= 0x1p-14 || !x.isFinite { return Float(Float16(x)) }
        return (x * 0x1p24).rounded(.toNearestOrEven) * 0x1p-24
    }
}
