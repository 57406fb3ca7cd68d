import CBLAS
import Foundation

/// A flat heap buffer shared by a tensor and its views. Views never copy; a tensor owns a storage only through
/// this reference, so the buffer lives as long as any view of it.
public final class TensorStorage<S: TensorScalar>: @unchecked Sendable {
    public let pointer: UnsafeMutablePointer<S>
    public let count: Int

    public init(count: Int) {
        _ = TensorStorageTuning.once
        self.count = count
        pointer = .allocate(capacity: max(count, 1))
        if OpProfile.enabled { profiled = true; OpProfile.allocated(count * MemoryLayout<S>.stride) }
    }

    /// Whether this buffer was counted by `OpProfile` (so its release is counted too).
    private var profiled = false

    public convenience init(repeating v: S, count: Int) {
        self.init(count: count)
        if v == 0 {
            // all-zero bits are +0 for Float and Double; memset avoids the generic element-wise copy
            memset(pointer, 0, count * MemoryLayout<S>.stride)
        } else {
            for i in 0..<count { pointer[i] = v }
        }
    }

    deinit {
        if profiled { OpProfile.freed(count * MemoryLayout<S>.stride) }
        pointer.deallocate()
    }
}

enum TensorStorageTuning {
    /// glibc hands blocks over 128 KiB to mmap and returns them on free, so every training step would pay page
    /// faults on fresh activations. Keeping large blocks in the heap makes reuse free.
    static let once: Bool = gtr_keep_large_blocks_in_heap() == 1
}

/// Deterministic random numbers for initialisation and dropout (SplitMix64; Box–Muller for normals).
public struct TensorRNG: Sendable {
    public var state: UInt64
    public init(seed: UInt64) { state = seed &+ 0x9E37_79B9_7F4A_7C15 }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    public mutating func unit() -> Double { Double(next() >> 11) * 0x1p-53 }
    public mutating func normal() -> Double {
        let u1 = max(unit(), 1e-300), u2 = unit()
        return (-2 * Foundation.log(u1)).squareRoot() * Foundation.cos(2 * .pi * u2)
    }
}
