import Foundation
import Tensors

/// Low-rank adapters (Hu et al. 2021) on a frozen base model: each adapted projection computes
/// y = x·Wᵀ + (α/r)·(x·Aᵀ)·Bᵀ with A: (r, in) drawn like a linear layer and B: (out, r) zero, so the adapted model
/// starts as the base model exactly. Only A and B train; their keys are `blocks.{i}.{attn.q|…|mlp.down}.lora_a`.
public struct LoRAConfig: Codable, Sendable, Equatable {
    public var rank = 8
    public var alpha: Float = 16
    /// Which projections of each block get an adapter: attention q, k, v, o and the MLP's gate, up, down.
    public var targets = ["q", "k", "v", "o", "gate", "up", "down"]
    public static let allTargets = ["q", "k", "v", "o", "gate", "up", "down"]
    public init(rank: Int = 8, alpha: Float = 16, targets: [String] = LoRAConfig.allTargets) {
        self.rank = rank; self.alpha = alpha; self.targets = targets
    }
    public var scale: Float { alpha / Float(rank) }
}

/// One adapter: A (r, in), B (out, r).
public final class LoRAAdapter: Module {
    public let a: Parameter, b: Parameter
    public let scale: Float
    public init(inFeatures: Int, outFeatures: Int, rank: Int, scale: Float, rng: inout TensorRNG) {
        let k = 1 / Double(inFeatures).squareRoot()
        a = Tensor.uniform([rank, inFeatures], low: -k, high: k, rng: &rng)
        b = Tensor.zeros([outFeatures, rank])
        a.requiresGrad = true; b.requiresGrad = true
        self.scale = scale
    }
    /// x: (…, in) → (…, out)
    public func callAsFunction(_ x: Tensor<Float>) -> Tensor<Float> {
        x.linear(weight: a, bias: nil).linear(weight: b, bias: nil) * scale
    }
    public func namedParameters() -> [(String, Parameter)] { [("lora_a", a), ("lora_b", b)] }
}

/// The adapters of a whole decoder, attached to (and detached from) its projections.
public final class LoRASet: Module {
    public let config: LoRAConfig
    /// (checkpoint key prefix, adapter, the layer it adapts)
    let entries: [(key: String, adapter: LoRAAdapter, layer: Linear)]

    public init(_ model: DecoderTransformer, config: LoRAConfig, seed: UInt64) {
        self.config = config
        var rng = TensorRNG(seed: seed &+ 0x10_4A)
        var out: [(String, LoRAAdapter, Linear)] = []
        for (i, blk) in model.blocks.enumerated() {
            let layers: [(String, Linear?)] = [("attn.q", blk.attn.q), ("attn.k", blk.attn.k), ("attn.v", blk.attn.v), ("attn.o", blk.attn.o),
                                               ("mlp.gate", blk.mlp.gate), ("mlp.up", blk.mlp.up), ("mlp.down", blk.mlp.down)]
            for (name, layer) in layers {
                guard let layer, config.targets.contains(String(name.split(separator: ".").last!)) else { continue }
                let ad = LoRAAdapter(inFeatures: layer.inFeatures, outFeatures: layer.outFeatures, rank: config.rank, scale: config.scale, rng: &rng)
                out.append(("blocks.\(i).\(name)", ad, layer))
            }
        }
        entries = out
    }

    /// Routes every adapted layer's forward through its adapter (y = base(x) + adapter(x)).
    public func attach() { for e in entries { let ad = e.adapter; e.layer.adapter = { ad($0) } } }
    public func detach() { for e in entries { e.layer.adapter = nil } }

    public func namedParameters() -> [(String, Parameter)] {
        entries.flatMap { e in e.adapter.namedParameters().map { (e.key + "." + $0.0, $0.1) } }
    }
}
