/// Trainable building blocks in the mlx-swift style: classes with `callAsFunction`, parameters listed under
/// explicit checkpoint keys, so safetensors files map one-to-one onto module trees.
public typealias Parameter = Tensor<Float>

public protocol Module: AnyObject {
    /// Every trainable (or frozen) tensor under its checkpoint key, e.g. `blocks.0.attn.qkv.weight`.
    func namedParameters() -> [(String, Parameter)]
}

extension Module {
    public var parameters: [Parameter] { namedParameters().map(\.1) }
    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.count } }
    /// Frozen parameters keep their values through `backward()` and optimizer steps.
    public func freeze() { for p in parameters { p.requiresGrad = false } }
    public func unfreeze() { for p in parameters { p.requiresGrad = true } }
    public func zeroGrad() { for p in parameters { p.zeroGrad() } }

    /// Loads values by key: every parameter must be present with the same shape and only finite values, and no
    /// tensor may be left over (a checkpoint of another shape or model).
    public func load(_ tensors: [String: Tensor<Float>]) throws {
        let named = namedParameters()
        let known = Set(named.map(\.0))
        if let extra = tensors.keys.sorted().first(where: { !known.contains($0) }) {
            throw TensorError.invalidFile("checkpoint has a tensor \"\(extra)\" the model does not have")
        }
        for (k, p) in named {
            guard let t = tensors[k] else { throw TensorError.invalidFile("checkpoint has no tensor \"\(k)\"") }
            guard t.shape == p.shape else {
                throw TensorError.shapeMismatch("\"\(k)\" is \(t.shape) in the checkpoint, \(p.shape) in the model")
            }
            let c = t.contiguous()
            if let i = (0..<c.count).first(where: { !c.pointer[$0].isFinite }) {
                throw TensorError.invalidFile("tensor \"\(k)\" holds a non-finite value (\(c.pointer[i])) at element \(i)")
            }
        }
        for (k, p) in named { p.assign(tensors[k]!) }
    }
}

func prefixed(_ prefix: String, _ m: Module) -> [(String, Parameter)] {
    m.namedParameters().map { (prefix + "." + $0.0, $0.1) }
}

func param(_ t: Tensor<Float>) -> Parameter { t.requiresGrad = true; return t }

/// y = x·Wᵀ + b with W: (out, in), the PyTorch / safetensors layout.
public final class Linear: Module {
    public let weight: Parameter
    public let bias: Parameter?
    public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true, rng: inout TensorRNG) {
        // PyTorch's default: U(−1/√in, 1/√in)
        let k = 1 / Double(inFeatures).squareRoot()
        weight = param(.uniform([outFeatures, inFeatures], low: -k, high: k, rng: &rng))
        self.bias = bias ? param(.uniform([outFeatures], low: -k, high: k, rng: &rng)) : nil
    }
    /// An extra path added to the output (a LoRA adapter over a frozen weight): y = x·Wᵀ + b + adapter(x).
    public var adapter: ((Tensor<Float>) -> Tensor<Float>)?
    public var inFeatures: Int { weight.shape[1] }
    public var outFeatures: Int { weight.shape[0] }
    public func callAsFunction(_ x: Tensor<Float>) -> Tensor<Float> {
        // x: (..., in) @ Wᵀ: (in, out) + b, one fused op
        let y = x.linear(weight: weight, bias: bias)
        guard let adapter else { return y }
        return y + adapter(x)
    }
    public func namedParameters() -> [(String, Parameter)] {
        [("weight", weight)] + (bias.map { [("bias", $0)] } ?? [])
    }
}

public final class Embedding: Module {
    public let weight: Parameter
    public init(_ count: Int, _ dim: Int, std: Double = 0.02, rng: inout TensorRNG) {
        weight = param(.randn([count, dim], std: std, rng: &rng))
    }
    public func callAsFunction(_ ids: [Int], shape: [Int]) -> Tensor<Float> { weight.embedding(ids, shape: shape) }
    public func namedParameters() -> [(String, Parameter)] { [("weight", weight)] }
}

public final class LayerNorm: Module {
    public let weight: Parameter, bias: Parameter
    public let eps: Float
    public init(_ dim: Int, eps: Float = 1e-5) {
        weight = param(.ones([dim])); bias = param(.zeros([dim])); self.eps = eps
    }
    public func callAsFunction(_ x: Tensor<Float>) -> Tensor<Float> { x.layerNorm(weight: weight, bias: bias, eps: eps) }
    public func namedParameters() -> [(String, Parameter)] { [("weight", weight), ("bias", bias)] }
}

public final class RMSNorm: Module {
    public let weight: Parameter
    public let eps: Float
    public init(_ dim: Int, eps: Float = 1e-5) { weight = param(.ones([dim])); self.eps = eps }
    public func callAsFunction(_ x: Tensor<Float>) -> Tensor<Float> { x.rmsNorm(weight: weight, eps: eps) }
    public func namedParameters() -> [(String, Parameter)] { [("weight", weight)] }
}
