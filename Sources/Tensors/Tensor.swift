import Foundation

/// A float tensor: a shape and strides over a shared `TensorStorage`, plus what reverse-mode autograd needs.
///
/// Storage is row-major; `transpose`, `permute`, `slice` and `expand` return strided views that share it, and
/// ops that need contiguous memory call `contiguous()`, which copies only when the view is not already
/// contiguous. A tensor is a class so that the autograd graph can hold it by reference.
public final class Tensor<S: TensorScalar>: CustomStringConvertible {
    public let storage: TensorStorage<S>
    public let shape: [Int]
    public let strides: [Int]
    public let offset: Int
    /// Leaf tensors with `requiresGrad` collect gradients in `grad`; a frozen parameter sets it to false.
    public var requiresGrad: Bool
    /// Gradient of the last `backward()` (accumulated across passes until `zeroGrad()`), contiguous.
    public internal(set) var grad: Tensor<S>?
    /// True while `grad` may alias a tensor someone else holds; it is copied before being modified in place.
    var gradShared = false
    var node: GradNode<S>?

    public init(storage: TensorStorage<S>, shape: [Int], strides: [Int]? = nil, offset: Int = 0, requiresGrad: Bool = false) {
        self.storage = storage
        self.shape = shape
        self.strides = strides ?? Tensor.contiguousStrides(shape)
        self.offset = offset
        self.requiresGrad = requiresGrad
    }

    /// An uninitialised contiguous tensor (callers fill every element).
    public convenience init(uninitialized shape: [Int]) {
        self.init(storage: TensorStorage(count: Tensor.count(shape)), shape: shape)
    }

    public convenience init(shape: [Int], repeating v: S) {
        self.init(storage: TensorStorage(repeating: v, count: Tensor.count(shape)), shape: shape)
    }

    public convenience init(shape: [Int], scalars: [S], requiresGrad: Bool = false) {
        precondition(scalars.count == Tensor.count(shape), "shape \(shape) needs \(Tensor.count(shape)) scalars, got \(scalars.count)")
        let s = TensorStorage<S>(count: scalars.count)
        scalars.withUnsafeBufferPointer { s.pointer.initialize(from: $0.baseAddress!, count: scalars.count) }
        self.init(storage: s, shape: shape, requiresGrad: requiresGrad)
    }

    public convenience init(_ scalar: S) { self.init(shape: [], scalars: [scalar]) }

    public static func zeros(_ shape: [Int]) -> Tensor { Tensor(shape: shape, repeating: 0) }
    public static func ones(_ shape: [Int]) -> Tensor { Tensor(shape: shape, repeating: 1) }

    /// Normal(0, std²) entries from a seeded generator: the same seed gives the same tensor on every machine.
    public static func randn(_ shape: [Int], std: Double = 1, rng: inout TensorRNG) -> Tensor {
        let t = Tensor(uninitialized: shape)
        for i in 0..<t.count { t.storage.pointer[i] = S(rng.normal() * std) }
        return t
    }

    /// Uniform entries in [low, high).
    public static func uniform(_ shape: [Int], low: Double, high: Double, rng: inout TensorRNG) -> Tensor {
        let t = Tensor(uninitialized: shape)
        for i in 0..<t.count { t.storage.pointer[i] = S(low + (high - low) * rng.unit()) }
        return t
    }

    public static func arange(_ n: Int) -> Tensor { Tensor(shape: [n], scalars: (0..<n).map { S($0) }) }

    // MARK: shape facts

    public var rank: Int { shape.count }
    public var count: Int { Tensor.count(shape) }
    static func count(_ shape: [Int]) -> Int { shape.reduce(1, *) }
    static func contiguousStrides(_ shape: [Int]) -> [Int] {
        var s = [Int](repeating: 1, count: shape.count)
        var acc = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) { s[i] = acc; acc *= shape[i] }
        return s
    }
    public var isContiguous: Bool {
        var acc = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) where shape[i] != 1 {
            if strides[i] != acc { return false }
            acc *= shape[i]
        }
        return true
    }
    /// Pointer to the first element (valid for contiguous tensors as a flat array of `count`).
    public var pointer: UnsafeMutablePointer<S> { storage.pointer + offset }

    /// Normalises a possibly negative axis.
    public func axis(_ a: Int) -> Int {
        let r = a < 0 ? a + rank : a
        precondition(r >= 0 && r < max(rank, 1), "axis \(a) out of range for rank \(rank)")
        return r
    }

    // MARK: reading values

    /// Elements in row-major order (copies).
    public var scalars: [S] {
        let c = contiguousNoGrad()
        return Array(UnsafeBufferPointer(start: c.pointer, count: c.count))
    }

    /// The value of a one-element tensor.
    public func item() -> S {
        precondition(count == 1, "item() needs a one-element tensor, shape is \(shape)")
        return pointer[0]
    }

    public subscript(_ index: Int...) -> S {
        precondition(index.count == rank)
        var o = offset
        for (i, k) in index.enumerated() { precondition(k >= 0 && k < shape[i]); o += k * strides[i] }
        return storage.pointer[o]
    }

    public var description: String {
        let v = scalars
        let shown = v.prefix(8).map { String(describing: $0) }.joined(separator: ", ")
        return "Tensor\(shape)[\(shown)\(v.count > 8 ? ", …" : "")]"
    }

    /// A contiguous copy of a strided view without recording a graph edge (used inside kernels).
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    func contiguousNoGrad() -> Tensor {
        if isContiguous { return self }
        let out = Tensor(uninitialized: shape)
        Strided.copy(shape: shape, src: storage.pointer, srcOffset: offset, srcStrides: strides, dst: out.pointer)
        return out
    }

    /// Detached: same values, no graph, no gradient.
    public func detached() -> Tensor { Tensor(storage: storage, shape: shape, strides: strides, offset: offset) }

    /// A contiguous deep copy (no graph).
    public func copy() -> Tensor {
        let c = contiguousNoGrad()
        if c !== self { return c }
        let out = Tensor(uninitialized: shape)
        out.pointer.update(from: pointer, count: count)
        return out
    }

    /// Overwrites this tensor's elements (in place, outside autograd): for loading weights and optimizer steps.
    public func assign(_ other: Tensor) {
        precondition(other.shape == shape, "assign: shape \(other.shape) into \(shape)")
        precondition(isContiguous)
        let c = other.contiguousNoGrad()
        pointer.update(from: c.pointer, count: count)
    }
}

public enum TensorError: Error, CustomStringConvertible, Equatable {
    case shapeMismatch(String)
    case invalidFile(String)
    case io(String)

    public var description: String {
        switch self {
        case let .shapeMismatch(m): return "shape mismatch: \(m)"
        case let .invalidFile(m): return "invalid tensor file: \(m)"
        case let .io(m): return m
        }
    }
}
