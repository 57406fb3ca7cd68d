import Foundation

/// One recorded operation: the tensors it read and how to turn the output's gradient into theirs.
final class GradNode<S: TensorScalar> {
    let parents: [Tensor<S>]
    /// Receives d(loss)/d(output) (contiguous) and accumulates into the parents.
    let backward: (Tensor<S>) -> Void
    let name: String
    init(_ name: String, _ parents: [Tensor<S>], _ backward: @escaping (Tensor<S>) -> Void) {
        self.name = name; self.parents = parents; self.backward = backward
    }
}

/// Gradient recording switch. Inference (generation, rollouts) runs inside `Autograd.noGrad { }`, which
/// records nothing and keeps no activations alive.
public enum Autograd {
    @TaskLocal static var enabled = true
    public static var isEnabled: Bool { enabled }
    public static func noGrad<R>(_ body: () throws -> R) rethrows -> R { try $enabled.withValue(false, operation: body) }
}

extension Tensor {
    /// True when gradients must flow through this tensor: a trainable leaf or the output of a recorded op.
    public var needsGrad: Bool { requiresGrad || node != nil }

    /// Makes `out` a graph node when recording is on and some input needs a gradient.
    @discardableResult
    func record(_ name: String, _ inputs: [Tensor], _ backward: @escaping (Tensor) -> Void) -> Tensor {
        if OpProfile.enabled { OpProfile.forward(name) }
        guard Autograd.enabled, inputs.contains(where: { $0.needsGrad }) else { return self }
        node = GradNode(name, inputs, backward)
        return self
    }

    /// Adds `g` (shape must equal `shape`) to this tensor's gradient.
    func accumulateGrad(_ g: Tensor) {
        guard needsGrad else { return }
        precondition(g.shape == shape, "gradient shape \(g.shape) for tensor \(shape)")
        guard let current = grad else {
            grad = g.isContiguous ? g : g.contiguousNoGrad()
            gradShared = true
            return
        }
        if gradShared {
            // the held gradient belongs to someone else: the sum goes to a buffer of our own, in one parallel
            // pass (current[i] + g[i], the same bits as copying and then adding in place)
            let sum = Tensor(uninitialized: shape)
            Kernels.binary(.add, current, g, sum)
            grad = sum; gradShared = false
            return
        }
        Kernels.addInPlace(current, g)
    }

    /// Like `accumulateGrad`, for a gradient buffer nobody else holds (just allocated by a rule): it becomes this
    /// tensor's own gradient, so later rules may add into it in place (`linear` does, in its GEMM).
    func takeOrAccumulateGrad(_ g: Tensor) {
        guard needsGrad else { return }
        if grad == nil, g.isContiguous, g.shape == shape { grad = g; gradShared = false } else { accumulateGrad(g) }
    }

    /// Backpropagates from this scalar through every recorded op, adding into the leaves' `grad`.
    /// The graph is released afterwards (as in PyTorch without `retain_graph`), so each forward pass can be
    /// differentiated once; leaf gradients keep accumulating until `zeroGrad()`.
    public func backward(_ seed: Tensor? = nil) {
        precondition(seed != nil || count == 1, "backward() without a seed needs a scalar, shape is \(shape)")
        // Iterative post-order DFS: parents before children in `order`.
        var order: [Tensor] = []
        var visited = Set<ObjectIdentifier>()
        var stack: [(Tensor, Bool)] = [(self, false)]
        while let (t, expanded) = stack.popLast() {
            if expanded { order.append(t); continue }
            if !visited.insert(ObjectIdentifier(t)).inserted { continue }
            stack.append((t, true))
            if let n = t.node { for p in n.parents where p.needsGrad && !visited.contains(ObjectIdentifier(p)) { stack.append((p, false)) } }
        }
        accumulateGrad(seed ?? Tensor(shape: shape, repeating: 1))
        for t in order.reversed() {
            guard let n = t.node else { continue }
            if let g = t.grad {
                if OpProfile.enabled { OpProfile.backward(n.name) { n.backward(g) } } else { n.backward(g) }
            }
            t.node = nil
            if !t.requiresGrad { t.grad = nil }
        }
    }

    public func zeroGrad() { grad = nil; gradShared = false }
}
