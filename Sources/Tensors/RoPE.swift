/// Rotary position embeddings. Two pairings exist in the wild and checkpoints depend on the right one:
/// `.halves` rotates (x[i], x[i + d/2]) (GPT-NeoX, Hugging Face `rotate_half`); `.adjacent` rotates
/// (x[2i], x[2i+1]) (GGUF llama weights, whose Q/K rows llama.cpp's converter un-permuted).
public enum RoPEPairing: String, Codable, Sendable { case halves, adjacent }

extension Tensor {
    /// x: (..., T, D) with D even; position of row t is `positionOffset + t` (the KV-cache offset).
    /// θ_i = base^(−2i/D); each pair is rotated by angle pos·θ_i. Backward rotates by −angle.
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func rope(base: Double = 10_000, positionOffset: Int = 0, pairing: RoPEPairing = .halves) -> Tensor {
        let d = shape[rank - 1], t = shape[rank - 2]
        precondition(d % 2 == 0, "rope needs an even last dim, got \(d)")
        let half = d / 2
        var cosT = [S](repeating: 0, count: t * half), sinT = [S](repeating: 0, count: t * half)
        for p in 0..<t {
            for i in 0..<half {
                let ang = Double(positionOffset + p) * Foundation.pow(base, -2.0 * Double(i) / Double(d))
                cosT[p * half + i] = S(Foundation.cos(ang)); sinT[p * half + i] = S(Foundation.sin(ang))
            }
        }
        func rotate(_ src: Tensor, _ sign: S) -> Tensor {
            let out = Tensor(uninitialized: src.shape)
            let rows = src.count / d
            for r in 0..<rows {
                let p = r % t
                let x = src.pointer + r * d, y = out.pointer + r * d
                for i in 0..<half {
                    let c = cosT[p * half + i], s = sign * sinT[p * half + i]
                    let (a, b) = pairing == .halves ? (i, i + half) : (2 * i, 2 * i + 1)
                    y[a] = x[a] * c - x[b] * s
                    y[b] = x[a] * s + x[b] * c
                }
            }
            return out
        }
        let out = rotate(contiguousNoGrad(), 1)
        return out.record("rope", [self]) { g in self.accumulateGrad(rotate(g, -1)) }
    }
}

import Foundation
