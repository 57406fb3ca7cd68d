import Foundation

/// A decoder-only transformer configuration (GPT-2 style by default; llama-style with `norm: .rms`,
/// `activation: .swiglu`, RoPE and grouped-query heads).
public struct TransformerConfig: Codable, Sendable, Equatable {
    public enum Norm: String, Codable, Sendable { case layer, rms }
    public enum Activation: String, Codable, Sendable { case gelu, swiglu }
    public enum Positions: String, Codable, Sendable { case learned, rope }

    public var vocabSize: Int
    public var dModel: Int
    public var layers: Int
    public var heads: Int
    public var kvHeads: Int
    public var ffnHidden: Int
    public var maxSequence: Int
    public var norm: Norm = .layer
    public var activation: Activation = .gelu
    public var positions: Positions = .learned
    public var ropeBase: Double = 10_000
    public var ropePairing: RoPEPairing = .halves
    public var bias: Bool = true
    public var tieEmbeddings: Bool = false
    public var normEps: Float = 1e-5

    public init(vocabSize: Int, dModel: Int, layers: Int, heads: Int, kvHeads: Int? = nil, ffnHidden: Int? = nil, maxSequence: Int) {
        self.vocabSize = vocabSize; self.dModel = dModel; self.layers = layers; self.heads = heads
        self.kvHeads = kvHeads ?? heads; self.ffnHidden = ffnHidden ?? 4 * dModel; self.maxSequence = maxSequence
    }
    public var headDim: Int { dModel / heads }
}

/// Per-layer key/value cache for incremental decoding. Each layer's keys and values live in one preallocated
/// (B, Hkv, capacity, D) buffer; a decoding step writes its new position in place and attention reads a
/// (B, Hkv, length, D) view, so a step costs nothing proportional to what is already cached (the buffer doubles
/// when full). Inference only: cached tensors carry no graph.
public final class KVCache {
    private var keyStore: [Tensor<Float>?], valueStore: [Tensor<Float>?]
    private var lengths: [Int]
    /// Positions to reserve at the first append (prompt + answer budget); 0 lets the first append decide.
    public var reserve: Int

    public init(layers: Int, reserve: Int = 0) {
        keyStore = Array(repeating: nil, count: layers); valueStore = keyStore
        lengths = Array(repeating: 0, count: layers)
        self.reserve = reserve
    }

    /// The rows of `parts`, in order, in one cache: caches of the same layers and lengths, filled by separate
    /// prompt passes (batched generation runs the prompt in fixed chunks of rows, then decodes them together).
    public convenience init(joining parts: [KVCache]) {
        precondition(!parts.isEmpty, "KVCache(joining:) needs a cache")
        let layers = parts[0].lengths.count
        self.init(layers: layers, reserve: parts[0].reserve)
        precondition(parts.allSatisfy { $0.lengths == parts[0].lengths }, "joined KV caches must hold the same positions")
        lengths = parts[0].lengths
        func join(_ stores: [Tensor<Float>?], filled: Int) -> Tensor<Float>? {
            let present = stores.compactMap { $0 }
            guard present.count == stores.count, let first = present.first else { return nil }
            let h = first.shape[1], d = first.shape[3], cap = present.map { $0.shape[2] }.max()!
            let rows = present.reduce(0) { $0 + $1.shape[0] }
            let out = Tensor<Float>(uninitialized: [rows, h, cap, d])
            var block = 0  // (row, head) blocks of out filled so far
            for s in present {
                // block (row, head) of s holds s.shape[2] × d floats, the first `filled` positions written
                for i in 0..<(s.shape[0] * h) {
                    (out.pointer + (block + i) * cap * d).update(from: s.pointer + i * s.shape[2] * d, count: filled * d)
                }
                block += s.shape[0] * h
            }
            return out
        }
        for layer in 0..<layers {
            keyStore[layer] = join(parts.map { $0.keyStore[layer] }, filled: lengths[layer])
            valueStore[layer] = join(parts.map { $0.valueStore[layer] }, filled: lengths[layer])
        }
    }

    public var length: Int { lengths.first ?? 0 }
    public func length(layer: Int) -> Int { lengths[layer] }

    /// Keeps batch rows `keep` (ascending) and drops the others: row keep[i] becomes row i, its cached positions
    /// moved down in place (only the filled ones), so later steps run on the smaller batch. Generation calls it
    /// when rows have finished.
    public func keepRows(_ keep: [Int]) {
        precondition(zip(keep, keep.dropFirst()).allSatisfy { $0 < $1 }, "keepRows wants ascending rows")
        for layer in keyStore.indices {
            for (store, put) in [(keyStore[layer], { self.keyStore[layer] = $0 }), (valueStore[layer], { self.valueStore[layer] = $0 })] {
                guard let store else { continue }
                let b = store.shape[0], h = store.shape[1], cap = store.shape[2], d = store.shape[3]
                precondition(keep.allSatisfy { $0 >= 0 && $0 < b }, "keepRows: row outside the batch of \(b)")
                // block (row, head) holds cap × d floats, the first lengths[layer] positions filled
                let block = cap * d, filled = lengths[layer] * d
                for (to, from) in keep.enumerated() where to != from {
                    for k in 0..<h { (store.pointer + (to * h + k) * block).update(from: store.pointer + (from * h + k) * block, count: filled) }
                }
                put(store.view([keep.count, h, cap, d], store.strides, 0))
            }
        }
    }

    /// Appends k: (B, Hkv, T, D) and v: (B, Hkv, T, Dv) at the end of layer `layer` and returns the views of all
    /// cached positions.
    func append(layer: Int, keys k: Tensor<Float>, values v: Tensor<Float>) -> (Tensor<Float>, Tensor<Float>) {
        let old = lengths[layer], t = k.shape[2], need = old + t
        func grow(_ store: Tensor<Float>?, like x: Tensor<Float>) -> Tensor<Float> {
            let bh = x.shape[0] * x.shape[1], d = x.shape[3]
            if let store {
                precondition(store.shape[0] == x.shape[0] && store.shape[1] == x.shape[1] && store.shape[3] == d,
                             "KV cache of shape \(store.shape) cannot take \(x.shape): one cache per batch")
                if store.shape[2] >= need { return store }
            }
            let oldCap = store?.shape[2] ?? 0
            let cap = Swift.max(need, reserve, oldCap * 2)
            let fresh = Tensor<Float>(uninitialized: [x.shape[0], x.shape[1], cap, d])
            if let store, old > 0 {
                for i in 0..<bh { (fresh.pointer + i * cap * d).update(from: store.pointer + i * oldCap * d, count: old * d) }
            }
            return fresh
        }
        let ks = grow(keyStore[layer], like: k), vs = grow(valueStore[layer], like: v)
        keyStore[layer] = ks; valueStore[layer] = vs
        for (store, x) in [(ks, k), (vs, v)] {
            // rows (b, h, old + i) ← x[b, h, i]
            let cap = store.shape[2], d = x.shape[3], hs = x.shape[1]
            let src = x.storage.pointer + x.offset, st = x.strides
            for b in 0..<x.shape[0] { for h in 0..<hs { for i in 0..<t {
                let dst = store.pointer + ((b * hs + h) * cap + old + i) * d
                let row = src + b * st[0] + h * st[1] + i * st[2]
                if st[3] == 1 { dst.update(from: row, count: d) } else { for j in 0..<d { dst[j] = row[j * st[3]] } }
            } } }
        }
        lengths[layer] = need
        return (ks.view([k.shape[0], k.shape[1], need, k.shape[3]], ks.strides, 0),
                vs.view([v.shape[0], v.shape[1], need, v.shape[3]], vs.strides, 0))
    }
}

public final class SelfAttention: Module {
    let cfg: TransformerConfig
    public let q: Linear, k: Linear, v: Linear, o: Linear
    public init(_ cfg: TransformerConfig, rng: inout TensorRNG) {
        self.cfg = cfg
        let hd = cfg.headDim
        q = Linear(cfg.dModel, cfg.heads * hd, bias: cfg.bias, rng: &rng)
        k = Linear(cfg.dModel, cfg.kvHeads * hd, bias: cfg.bias, rng: &rng)
        v = Linear(cfg.dModel, cfg.kvHeads * hd, bias: cfg.bias, rng: &rng)
        o = Linear(cfg.heads * hd, cfg.dModel, bias: cfg.bias, rng: &rng)
    }
    /// The layer under `prefix` (`prefix.q.weight`, …) in `source`.
    public init(_ cfg: TransformerConfig, prefix: String, source: WeightSource) throws {
        self.cfg = cfg
        let hd = cfg.headDim
        q = try Linear(cfg.dModel, cfg.heads * hd, bias: cfg.bias, key: prefix + ".q", source: source)
        k = try Linear(cfg.dModel, cfg.kvHeads * hd, bias: cfg.bias, key: prefix + ".k", source: source)
        v = try Linear(cfg.dModel, cfg.kvHeads * hd, bias: cfg.bias, key: prefix + ".v", source: source)
        o = try Linear(cfg.heads * hd, cfg.dModel, bias: cfg.bias, key: prefix + ".o", source: source)
    }
    /// x: (B, T, C) → (B, T, C); with a cache, T new positions attend to everything cached before them.
    /// `keyStart` masks each row's left padding (see `Tensor.attention`). With `lastOnly`, keys and values are
    /// made for all T positions but only the last one queries: → (B, 1, C).
    public func callAsFunction(_ x: Tensor<Float>, cache: KVCache? = nil, layer: Int = 0, keyStart: [Int]? = nil,
                               lastOnly: Bool = false) -> Tensor<Float> {
        let b = x.shape[0], t = x.shape[1], hd = cfg.headDim
        let tq = lastOnly ? 1 : t
        let xq = lastOnly ? x.slice(axis: 1, t - 1, t).contiguous() : x  // (B, tq, C)
        // (B, T, H·D) → (B, H, T, D) as views
        var qh = q(xq).reshape([b, tq, cfg.heads, hd]).transpose(1, 2)
        var kh = k(x).reshape([b, t, cfg.kvHeads, hd]).transpose(1, 2)
        var vh = v(x).reshape([b, t, cfg.kvHeads, hd]).transpose(1, 2)
        let past = cache?.length(layer: layer) ?? 0
        if cfg.positions == .rope {
            qh = qh.rope(base: cfg.ropeBase, positionOffset: past + t - tq, pairing: cfg.ropePairing)
            kh = kh.rope(base: cfg.ropeBase, positionOffset: past, pairing: cfg.ropePairing)
        }
        if let cache { (kh, vh) = cache.append(layer: layer, keys: kh, values: vh) }
        // causal: query i of tq sees the keys up to its own position, past + t − tq + i
        let y = Tensor.attention(q: qh, k: kh, v: vh, causal: true, keyStart: keyStart)
        return o(y.transpose(1, 2).reshape([b, tq, cfg.heads * hd]))
    }
    public func namedParameters() -> [(String, Parameter)] {
        prefixed("q", q) + prefixed("k", k) + prefixed("v", v) + prefixed("o", o)
    }
}

public final class FeedForward: Module {
    let activation: TransformerConfig.Activation
    public let up: Linear, down: Linear, gate: Linear?
    public init(_ cfg: TransformerConfig, rng: inout TensorRNG) {
        activation = cfg.activation
        up = Linear(cfg.dModel, cfg.ffnHidden, bias: cfg.bias, rng: &rng)
        gate = cfg.activation == .swiglu ? Linear(cfg.dModel, cfg.ffnHidden, bias: cfg.bias, rng: &rng) : nil
        down = Linear(cfg.ffnHidden, cfg.dModel, bias: cfg.bias, rng: &rng)
    }
    public init(_ cfg: TransformerConfig, prefix: String, source: WeightSource) throws {
        activation = cfg.activation
        up = try Linear(cfg.dModel, cfg.ffnHidden, bias: cfg.bias, key: prefix + ".up", source: source)
        gate = cfg.activation == .swiglu ? try Linear(cfg.dModel, cfg.ffnHidden, bias: cfg.bias, key: prefix + ".gate", source: source) : nil
        down = try Linear(cfg.ffnHidden, cfg.dModel, bias: cfg.bias, key: prefix + ".down", source: source)
    }
    public func callAsFunction(_ x: Tensor<Float>) -> Tensor<Float> {
        switch activation {
        case .gelu: return down(up(x).gelu())
        case .swiglu: return down(Tensor.swiglu(gate: gate!(x), up: up(x)))
        }
    }
    public func namedParameters() -> [(String, Parameter)] {
        prefixed("up", up) + prefixed("down", down) + (gate.map { prefixed("gate", $0) } ?? [])
    }
}

public final class TransformerBlock: Module {
    public let norm1: Module, attn: SelfAttention, norm2: Module, mlp: FeedForward
    let normFn: (Module, Tensor<Float>) -> Tensor<Float>
    public init(_ cfg: TransformerConfig, rng: inout TensorRNG) {
        func makeNorm() -> Module { cfg.norm == .layer ? LayerNorm(cfg.dModel, eps: cfg.normEps) : RMSNorm(cfg.dModel, eps: cfg.normEps) }
        norm1 = makeNorm(); attn = SelfAttention(cfg, rng: &rng); norm2 = makeNorm(); mlp = FeedForward(cfg, rng: &rng)
        normFn = { m, x in (m as? LayerNorm)?(x) ?? (m as! RMSNorm)(x) }
    }
    public init(_ cfg: TransformerConfig, prefix: String, source: WeightSource) throws {
        norm1 = try loadNorm(cfg, prefix + ".norm1", source); attn = try SelfAttention(cfg, prefix: prefix + ".attn", source: source)
        norm2 = try loadNorm(cfg, prefix + ".norm2", source); mlp = try FeedForward(cfg, prefix: prefix + ".mlp", source: source)
        normFn = { m, x in (m as? LayerNorm)?(x) ?? (m as! RMSNorm)(x) }
    }
    /// Pre-norm residual block: x + attn(norm(x)), then + mlp(norm(·)). With `lastOnly` only the last position
    /// goes on past attention (all positions still fill the cache): (B, T, C) → (B, 1, C).
    public func callAsFunction(_ x: Tensor<Float>, cache: KVCache? = nil, layer: Int = 0, keyStart: [Int]? = nil,
                               lastOnly: Bool = false) -> Tensor<Float> {
        let a = attn(normFn(norm1, x), cache: cache, layer: layer, keyStart: keyStart, lastOnly: lastOnly)
        let h = (lastOnly ? x.slice(axis: 1, x.shape[1] - 1, x.shape[1]) : x) + a
        return h + mlp(normFn(norm2, h))
    }
    public func namedParameters() -> [(String, Parameter)] {
        prefixed("norm1", norm1) + prefixed("attn", attn) + prefixed("norm2", norm2) + prefixed("mlp", mlp)
    }
}

/// The norm of `cfg` under `key` in `source` (Float weights; LayerNorm also has a bias).
func loadNorm(_ cfg: TransformerConfig, _ key: String, _ source: WeightSource) throws -> Module {
    if cfg.norm == .layer {
        let n = LayerNorm(cfg.dModel, eps: cfg.normEps)
        n.weight.assign(try sourceFloat(source, key + ".weight", [cfg.dModel]))
        n.bias.assign(try sourceFloat(source, key + ".bias", [cfg.dModel]))
        return n
    }
    let n = RMSNorm(cfg.dModel, eps: cfg.normEps)
    n.weight.assign(try sourceFloat(source, key + ".weight", [cfg.dModel]))
    return n
}

/// Token embedding → blocks → final norm → LM head. Returns logits (B, T, V).
public final class DecoderTransformer: Module {
    public let config: TransformerConfig
    public let embed: Embedding
    public let positions: Embedding?
    public let blocks: [TransformerBlock]
    public let finalNorm: Module
    public let head: Linear?

    public init(_ cfg: TransformerConfig, seed: UInt64) {
        var rng = TensorRNG(seed: seed)
        config = cfg
        embed = Embedding(cfg.vocabSize, cfg.dModel, rng: &rng)
        positions = cfg.positions == .learned ? Embedding(cfg.maxSequence, cfg.dModel, rng: &rng) : nil
        blocks = (0..<cfg.layers).map { _ in TransformerBlock(cfg, rng: &rng) }
        finalNorm = cfg.norm == .layer ? LayerNorm(cfg.dModel, eps: cfg.normEps) : RMSNorm(cfg.dModel, eps: cfg.normEps)
        head = cfg.tieEmbeddings ? nil : Linear(cfg.dModel, cfg.vocabSize, bias: false, rng: &rng)
    }

    /// A model whose every weight comes from `source` under its checkpoint key (`namedParameters`' names):
    /// matrices may be quantised (frozen, left out of `namedParameters`), norms are Float. No random weights are
    /// made on the way, so a quantised model never takes a Float copy's memory.
    public init(_ cfg: TransformerConfig, weights source: WeightSource) throws {
        config = cfg
        embed = Embedding(weight: try sourceWeight(source, "embed.weight", [cfg.vocabSize, cfg.dModel]))
        positions = cfg.positions == .learned ? Embedding(weight: try sourceWeight(source, "positions.weight", [cfg.maxSequence, cfg.dModel])) : nil
        blocks = try (0..<cfg.layers).map { try TransformerBlock(cfg, prefix: "blocks.\($0)", source: source) }
        finalNorm = try loadNorm(cfg, "final_norm", source)
        head = cfg.tieEmbeddings ? nil : try Linear(cfg.dModel, cfg.vocabSize, bias: false, key: "head", source: source)
    }

    /// Hidden states (B, T, C) before the LM head, for value heads and for callers that add inputs of their own.
    /// `lastOnly` (a prompt filling a cache): only the last position's, (B, 1, C); the last block skips the
    /// queries, attention output, MLP and norms of the others, whose keys and values are all the cache needs.
    public func hidden(_ x: Tensor<Float>, cache: KVCache? = nil, keyStart: [Int]? = nil, lastOnly: Bool = false) -> Tensor<Float> {
        var h = x
        for (i, blk) in blocks.enumerated() {
            h = blk(h, cache: cache, layer: i, keyStart: keyStart, lastOnly: lastOnly && i == blocks.count - 1)
        }
        return (finalNorm as? LayerNorm)?(h) ?? (finalNorm as! RMSNorm)(h)
    }

    /// Input embeddings of ids (B·T, row-major) at positions offset..<offset+T.
    public func embedTokens(_ ids: [Int], batch: Int, offset: Int = 0) -> Tensor<Float> {
        let t = ids.count / batch
        let x = embed(ids, shape: [batch, t])
        guard let positions else { return x }
        precondition(offset + t <= config.maxSequence, "sequence of \(offset + t) exceeds maxSequence \(config.maxSequence)")
        return x + positions(Array(offset..<(offset + t)), shape: [t])
    }

    public func logits(_ h: Tensor<Float>) -> Tensor<Float> { head.map { $0(h) } ?? embed.logits(h) }

    public func callAsFunction(_ ids: [Int], batch: Int, cache: KVCache? = nil) -> Tensor<Float> {
        logits(hidden(embedTokens(ids, batch: batch, offset: cache?.length ?? 0), cache: cache))
    }

    public func namedParameters() -> [(String, Parameter)] {
        var out = prefixed("embed", embed)
        if let positions { out += prefixed("positions", positions) }
        for (i, b) in blocks.enumerated() { out += prefixed("blocks.\(i)", b) }
        out += prefixed("final_norm", finalNorm)
        if let head { out += prefixed("head", head) }
        return out
    }
}
