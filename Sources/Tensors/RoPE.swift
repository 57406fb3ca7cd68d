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
        let (cosT, sinT) = RoPETable<S>.shared.angles(base: base, dim: d, from: positionOffset, count: t)
        func rotate(_ src: Tensor, _ sign: S) -> Tensor {
            let out = Tensor(uninitialized: src.shape)
            let rows = src.count / d
            let ps = src.pointer, po = out.pointer
            Parallel.forEach(rows, grain: Swift.max(1, Kernels.elementGrain / Swift.max(d, 1))) { range in
                for r in range {
                    let p = r % t
                    let x = ps + r * d, y = po + r * d, c = cosT + p * half, sn = sinT + p * half
                    if pairing == .halves {
                        for i in 0..<half {
                            let s = sign * sn[i]
                            y[i] = x[i] * c[i] - x[i + half] * s
                            y[i + half] = x[i] * s + x[i + half] * c[i]
                        }
                    } else {
                        for i in 0..<half {
                            let s = sign * sn[i]
                            y[2 * i] = x[2 * i] * c[i] - x[2 * i + 1] * s
                            y[2 * i + 1] = x[2 * i] * s + x[2 * i + 1] * c[i]
                        }
                    }
                }
            }
            return out
        }
        let out = rotate(contiguousNoGrad(), 1)
        return out.record("rope", [self]) { g in self.accumulateGrad(rotate(g, -1)) }
    }
}

/// cos and sin of pos·θ_i for positions 0..<n, computed once per (base, dim) and grown as longer sequences come
/// (the same libm calls as before, so the same bits). Tables only grow, so a pointer into one stays valid while
/// the lock-protected dictionary keeps the arrays alive.
final class RoPETable<S: TensorScalar>: @unchecked Sendable {
    /// One table set per scalar type.
    static var shared: RoPETable {
        ropeLock.lock(); defer { ropeLock.unlock() }
        let key = ObjectIdentifier(S.self)
        if let b = ropeTables[key] as? RoPETable { return b }
        let b = RoPETable<S>()
        ropeTables[key] = b
        return b
    }

    private let lock = NSLock()
    private var tables: [String: (cos: UnsafeMutablePointer<S>, sin: UnsafeMutablePointer<S>, positions: Int)] = [:]
    /// Retired buffers stay allocated: a caller may still hold a pointer into one.
    private var retired: [UnsafeMutablePointer<S>] = []

    func angles(base: Double, dim d: Int, from start: Int, count t: Int) -> (UnsafePointer<S>, UnsafePointer<S>) {
        let half = d / 2, need = start + t, key = "\(base)/\(d)"
        lock.lock(); defer { lock.unlock() }
        if let e = tables[key], e.positions >= need { return (UnsafePointer(e.cos + start * half), UnsafePointer(e.sin + start * half)) }
        let n = Swift.max(need, 2 * (tables[key]?.positions ?? 0), 512)
        let c = UnsafeMutablePointer<S>.allocate(capacity: n * half), s = UnsafeMutablePointer<S>.allocate(capacity: n * half)
        for p in 0..<n {
            for i in 0..<half {
                let ang = Double(p) * Foundation.pow(base, -2.0 * Double(i) / Double(d))
                c[p * half + i] = S(Foundation.cos(ang)); s[p * half + i] = S(Foundation.sin(ang))
            }
        }
        if let old = tables[key] { retired += [old.cos, old.sin] }
        tables[key] = (c, s, n)
        return (UnsafePointer(c + start * half), UnsafePointer(s + start * half))
    }
}

private let ropeLock = NSLock()
nonisolated(unsafe) private var ropeTables: [ObjectIdentifier: AnyObject] = [:]

import Foundation
