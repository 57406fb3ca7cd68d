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

/// A weight as a model file hands it to a module: Float (a trainable parameter) or a frozen quantised matrix.
public enum ModuleWeight {
    case float(Tensor<Float>)
    case quantized(QuantizedMatrix)

    public var shape: [Int] {
        switch self {
        case let .float(t): return t.shape
        case let .quantized(q): return q.shape
        }
    }
}

/// The weight under a checkpoint key (`blocks.0.attn.q.weight`) and the shape the module expects, when a model is
/// built from a file (`DecoderTransformer(config, weights:)`).
public typealias WeightSource = (_ key: String, _ shape: [Int]) throws -> ModuleWeight

func sourceWeight(_ source: WeightSource, _ key: String, _ shape: [Int]) throws -> ModuleWeight {
    let w = try source(key, shape)
    guard w.shape == shape else { throw TensorError.shapeMismatch("\"\(key)\" is \(w.shape) in the file, \(shape) in the model") }
    return w
}

func sourceFloat(_ source: WeightSource, _ key: String, _ shape: [Int]) throws -> Tensor<Float> {
    guard case let .float(t) = try sourceWeight(source, key, shape) else {
        throw TensorError.invalidFile("\"\(key)\" must be a Float tensor, not a quantised one")
    }
    return t
}

/// y = x·Wᵀ + b with W: (out, in), the PyTorch / safetensors layout. W is a trainable Float parameter, or a frozen
/// `QuantizedMatrix` (a quantised base model: the forward runs on its blocks, `namedParameters` leaves it out).
public final class Linear: Module {
    /// The trainable Float weight (out, in); nil when the layer holds a `quantized` one.
    public let floatWeight: Parameter?
    /// The frozen quantised weight (out, in), if the layer was built from one.
    public let quantized: QuantizedMatrix?
    public let bias: Parameter?
    public let inFeatures: Int, outFeatures: Int

    /// The weight (out, in) in Float: the parameter itself, or for a quantised layer a frozen dequantised copy
    /// made on every call (inspection only).
    public var weight: Parameter { floatWeight ?? quantized!.dequantized() }

    public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true, rng: inout TensorRNG) {
        // PyTorch's default: U(−1/√in, 1/√in)
        let k = 1 / Double(inFeatures).squareRoot()
        floatWeight = param(.uniform([outFeatures, inFeatures], low: -k, high: k, rng: &rng))
        quantized = nil
        self.bias = bias ? param(.uniform([outFeatures], low: -k, high: k, rng: &rng)) : nil
        self.inFeatures = inFeatures; self.outFeatures = outFeatures
    }

    /// A layer over given weights: weight (out, in), bias (out).
    public init(weight: ModuleWeight, bias: Tensor<Float>?) {
        precondition(weight.shape.count == 2 && (bias == nil || bias!.shape == [weight.shape[0]]), "Linear: weight \(weight.shape), bias \(bias?.shape ?? [])")
        switch weight {
        case let .float(t): floatWeight = param(t); quantized = nil
        case let .quantized(q): floatWeight = nil; quantized = q
        }
        self.bias = bias.map(param)
        outFeatures = weight.shape[0]; inFeatures = weight.shape[1]
    }

    /// The layer stored under `key` (`key.weight`, `key.bias`) in `source`.
    public convenience init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true, key: String, source: WeightSource) throws {
        let w = try sourceWeight(source, key + ".weight", [outFeatures, inFeatures])
        self.init(weight: w, bias: bias ? try sourceFloat(source, key + ".bias", [outFeatures]) : nil)
    }

    /// An extra path added to the output (a LoRA adapter over a frozen weight): y = x·Wᵀ + b + adapter(x).
    public var adapter: ((Tensor<Float>) -> Tensor<Float>)?
    public func callAsFunction(_ x: Tensor<Float>) -> Tensor<Float> {
        // x: (..., in) @ Wᵀ: (in, out) + b, one fused op
        let y = quantized.map { x.linear(quantized: $0, bias: bias) } ?? x.linear(weight: floatWeight!, bias: bias)
        guard let adapter else { return y }
        return y + adapter(x)
    }
    public func namedParameters() -> [(String, Parameter)] {
        (floatWeight.map { [("weight", $0)] } ?? []) + (bias.map { [("bias", $0)] } ?? [])
    }
}

/// A table of `count` rows of `dim`: trainable Float, or a frozen `QuantizedMatrix` (rows dequantised on lookup;
/// as a tied LM head, logits are computed on its blocks).
public final class Embedding: Module {
    public let floatWeight: Parameter?
    public let quantized: QuantizedMatrix?

    /// The table (count, dim) in Float: the parameter, or for a quantised table a frozen dequantised copy made on
    /// every call (inspection only).
    public var weight: Parameter { floatWeight ?? quantized!.dequantized() }

    public init(_ count: Int, _ dim: Int, std: Double = 0.02, rng: inout TensorRNG) {
        floatWeight = param(.randn([count, dim], std: std, rng: &rng))
        quantized = nil
    }

    public init(weight: ModuleWeight) {
        switch weight {
        case let .float(t): floatWeight = param(t); quantized = nil
        case let .quantized(q): floatWeight = nil; quantized = q
        }
    }

    public func callAsFunction(_ ids: [Int], shape: [Int]) -> Tensor<Float> {
        if let quantized { return quantized.rows(ids, shape: shape) }
        return floatWeight!.embedding(ids, shape: shape)
    }

    /// The table as a tied output head: h (..., dim) → logits (..., count) = h · Eᵀ.
    public func logits(_ h: Tensor<Float>) -> Tensor<Float> {
        if let quantized { return h.linear(quantized: quantized, bias: nil) }
        return h.matmul(floatWeight!.mT)
    }

    public func namedParameters() -> [(String, Parameter)] { floatWeight.map { [("weight", $0)] } ?? [] }
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
