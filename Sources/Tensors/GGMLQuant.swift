/// The ggml tensor types gtr reads, with their block shapes (ggml `ggml-common.h`, checked against the PyPI
/// `gguf` package's `GGML_QUANT_SIZES`).
public enum GGMLType: UInt32, Sendable, CaseIterable {
    case f32 = 0, f16 = 1, q4_0 = 2, q4_1 = 3, q5_0 = 6, q5_1 = 7, q8_0 = 8, q4_K = 12, q5_K = 13, q6_K = 14, bf16 = 30

    /// Elements per block.
    public var blockElements: Int {
        switch self {
        case .f32, .f16, .bf16: return 1
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0: return 32
        case .q4_K, .q5_K, .q6_K: return 256
        }
    }

    /// Bytes per block.
    public var blockBytes: Int {
        switch self {
        case .f32: return 4
        case .f16, .bf16: return 2
        case .q4_0: return 18
        case .q4_1: return 20
        case .q5_0: return 22
        case .q5_1: return 24
        case .q8_0: return 34
        case .q4_K: return 144
        case .q5_K: return 176
        case .q6_K: return 210
        }
    }

    public var name: String {
        switch self {
        case .f32: return "F32"
        case .f16: return "F16"
        case .bf16: return "BF16"
        case .q4_0: return "Q4_0"
        case .q4_1: return "Q4_1"
        case .q5_0: return "Q5_0"
        case .q5_1: return "Q5_1"
        case .q8_0: return "Q8_0"
        case .q4_K: return "Q4_K"
        case .q5_K: return "Q5_K"
        case .q6_K: return "Q6_K"
        }
    }

    static var supportedNames: String { allCases.map(\.name).joined(separator: ", ") }
}

/// Dequantisation of one row of ggml blocks (ggml `dequantize_row_*`). Blocks are packed without padding, so every
/// field is read with an unaligned load; `ggml_half` is IEEE binary16.
public enum GGMLQuant {
    @inline(__always) static func half(_ p: UnsafeRawPointer, _ offset: Int) -> Float {
        Float(Float16(bitPattern: UInt16(littleEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt16.self))))
    }

    @inline(__always) static func byte(_ p: UnsafeRawPointer, _ offset: Int) -> UInt8 { p.load(fromByteOffset: offset, as: UInt8.self) }

    /// The k-quants' 6-bit scale and min of sub-block `j` (0..<8) from the 12 packed bytes at `q`.
    @inline(__always) static func scaleMin(_ j: Int, _ q: UnsafeRawPointer) -> (Float, Float) {
        if j < 4 {
            return (Float(byte(q, j) & 63), Float(byte(q, j + 4) & 63))
        }
        let sc = (byte(q, j + 4) & 0xF) | ((byte(q, j - 4) >> 6) << 4)
        let m = (byte(q, j + 4) >> 4) | ((byte(q, j) >> 6) << 4)
        return (Float(sc), Float(m))
    }

    /// y[0..<count] = the `count` elements stored at `x` (count is a whole number of blocks).
    public static func dequantizeRow(_ type: GGMLType, _ x: UnsafeRawPointer, into y: UnsafeMutablePointer<Float>, count: Int) {
        let blocks = count / type.blockElements
        switch type {
        case .f32:
            for i in 0..<count { y[i] = Float(bitPattern: UInt32(littleEndian: x.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
        case .f16:
            for i in 0..<count { y[i] = half(x, 2 * i) }
        case .bf16:
            for i in 0..<count {
                y[i] = Float(bitPattern: UInt32(UInt16(littleEndian: x.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) << 16)
            }
        case .q8_0:
            // block: d f16, qs int8[32]; y = d·q
            for b in 0..<blocks {
                let p = x + b * 34, o = y + b * 32
                let d = half(p, 0)
                for j in 0..<32 { o[j] = d * Float(Int8(bitPattern: byte(p, 2 + j))) }
            }
        case .q4_0:
            // block: d f16, qs u8[16]; low nibbles are elements 0..<16, high nibbles 16..<32; y = d·(q − 8)
            for b in 0..<blocks {
                let p = x + b * 18, o = y + b * 32
                let d = half(p, 0)
                for j in 0..<16 {
                    let q = byte(p, 2 + j)
                    o[j] = d * Float(Int(q & 0xF) - 8)
                    o[j + 16] = d * Float(Int(q >> 4) - 8)
                }
            }
        case .q4_1:
            // block: d f16, m f16, qs u8[16]; y = d·q + m
            for b in 0..<blocks {
                let p = x + b * 20, o = y + b * 32
                let d = half(p, 0), m = half(p, 2)
                for j in 0..<16 {
                    let q = byte(p, 4 + j)
                    o[j] = d * Float(q & 0xF) + m
                    o[j + 16] = d * Float(q >> 4) + m
                }
            }
        case .q5_0:
            // block: d f16, qh u32 (the 5th bit of each element), qs u8[16]; y = d·(q − 16)
            for b in 0..<blocks {
                let p = x + b * 22, o = y + b * 32
                let d = half(p, 0)
                let qh = UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 2, as: UInt32.self))
                for j in 0..<16 {
                    let q = byte(p, 6 + j)
                    let h0 = UInt8(truncatingIfNeeded: ((qh >> UInt32(j)) << 4) & 0x10)
                    let h1 = UInt8(truncatingIfNeeded: (qh >> UInt32(j + 12)) & 0x10)
                    o[j] = d * Float(Int((q & 0xF) | h0) - 16)
                    o[j + 16] = d * Float(Int((q >> 4) | h1) - 16)
                }
            }
        case .q5_1:
            // block: d f16, m f16, qh u32, qs u8[16]; y = d·q + m
            for b in 0..<blocks {
                let p = x + b * 24, o = y + b * 32
                let d = half(p, 0), m = half(p, 2)
                let qh = UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
                for j in 0..<16 {
                    let q = byte(p, 8 + j)
                    let h0 = UInt8(truncatingIfNeeded: ((qh >> UInt32(j)) << 4) & 0x10)
                    let h1 = UInt8(truncatingIfNeeded: (qh >> UInt32(j + 12)) & 0x10)
                    o[j] = d * Float((q & 0xF) | h0) + m
                    o[j + 16] = d * Float((q >> 4) | h1) + m
                }
            }
        case .q4_K:
            // block: d f16, dmin f16, scales u8[12], qs u8[128]; 8 sub-blocks of 32 with 6-bit scale and min:
            // per 64 elements, 32 bytes: low nibbles y = d·sc·q − dmin·m, then high nibbles with the next pair.
            for b in 0..<blocks {
                let p = x + b * 144
                var o = y + b * 256
                let d = half(p, 0), dmin = half(p, 2)
                let scales = p + 4
                var q = p + 16
                for c in 0..<4 {
                    let (s1, m1) = scaleMin(2 * c, scales), (s2, m2) = scaleMin(2 * c + 1, scales)
                    let d1 = d * s1, n1 = dmin * m1, d2 = d * s2, n2 = dmin * m2
                    for l in 0..<32 { o[l] = d1 * Float(byte(q, l) & 0xF) - n1 }
                    for l in 0..<32 { o[32 + l] = d2 * Float(byte(q, l) >> 4) - n2 }
                    q += 32; o += 64
                }
            }
        case .q5_K:
            // block: d f16, dmin f16, scales u8[12], qh u8[32], qs u8[128]; as Q4_K with a 5th bit from qh
            // (bit 2c of qh[l] for the low nibbles of chunk c, bit 2c+1 for the high ones).
            for b in 0..<blocks {
                let p = x + b * 176
                var o = y + b * 256
                let d = half(p, 0), dmin = half(p, 2)
                let scales = p + 4, qh = p + 16
                var ql = p + 48
                var u1: UInt8 = 1, u2: UInt8 = 2
                for c in 0..<4 {
                    let (s1, m1) = scaleMin(2 * c, scales), (s2, m2) = scaleMin(2 * c + 1, scales)
                    let d1 = d * s1, n1 = dmin * m1, d2 = d * s2, n2 = dmin * m2
                    for l in 0..<32 { o[l] = d1 * Float((byte(ql, l) & 0xF) + (byte(qh, l) & u1 != 0 ? 16 : 0)) - n1 }
                    for l in 0..<32 { o[32 + l] = d2 * Float((byte(ql, l) >> 4) + (byte(qh, l) & u2 != 0 ? 16 : 0)) - n2 }
                    ql += 32; o += 64
                    u1 <<= 2; u2 <<= 2
                }
            }
        case .q6_K:
            // block: ql u8[128], qh u8[64], scales int8[16], d f16 (last); two halves of 128 elements, each
            // element 4 low bits from ql and 2 high bits from qh, minus 32, times d·scale of its 16.
            for b in 0..<blocks {
                let p = x + b * 210
                var o = y + b * 256
                let d = half(p, 208)
                var ql = p, qh = p + 128, sc = p + 192
                for _ in 0..<2 {
                    for l in 0..<32 {
                        let s = l / 16
                        let h = byte(qh, l)
                        let q1 = Int((byte(ql, l) & 0xF) | ((h & 3) << 4)) - 32
                        let q2 = Int((byte(ql, l + 32) & 0xF) | (((h >> 2) & 3) << 4)) - 32
                        let q3 = Int((byte(ql, l) >> 4) | (((h >> 4) & 3) << 4)) - 32
                        let q4 = Int((byte(ql, l + 32) >> 4) | (((h >> 6) & 3) << 4)) - 32
                        func scale(_ k: Int) -> Float { Float(Int8(bitPattern: byte(sc, k))) }
                        o[l] = d * scale(s) * Float(q1)
                        o[l + 32] = d * scale(s + 2) * Float(q2)
                        o[l + 64] = d * scale(s + 4) * Float(q3)
                        o[l + 96] = d * scale(s + 6) * Float(q4)
                    }
                    o += 128; ql += 64; qh += 32; sc += 8
                }
            }
        }
    }
}
