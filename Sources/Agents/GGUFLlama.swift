import Foundation
import Tensors

/// A llama-architecture GGUF (SmolLM2 and kin) as a `DecoderTransformer`: RMSNorm, RoPE on adjacent pairs (the
/// GGUF converters permute Q and K for ggml's "NORM" rope), grouped-query attention, SwiGLU, tied embeddings.
/// Quantised weights stay in their blocks and decoding runs on them (`QuantizedMatrix`), rounding activations to
/// 8 bits as llama.cpp does; `dequantize: true` loads the old all-Float model instead.
public final class GGUFLlama: @unchecked Sendable {
    public let model: DecoderTransformer
    public let tokenizer: GGUFTokenizer
    public let file: GGUFFile
    /// Inference in llama.cpp's arithmetic (F16 KV cache, ggml's summation orders): generation and `nextLogits`.
    public let runner: LlamaRunner?

    /// The transformer shape from the file's `llama.*` metadata, validated.
    public static func config(_ f: GGUFFile) throws -> TransformerConfig {
        guard f.metadata["general.architecture"]?.string == "llama" else {
            throw GGUFError("\(f.path): general.architecture is '\(f.metadata["general.architecture"]?.string ?? "?")'; gtr runs llama GGUFs")
        }
        func int(_ k: String, _ range: ClosedRange<Int>) throws -> Int {
            guard let v = f.metadata["llama." + k]?.int else { throw GGUFError("\(f.path): llama.\(k) is missing or not an integer") }
            guard range.contains(v) else { throw GGUFError("\(f.path): llama.\(k) = \(v) is not in \(range.lowerBound)…\(range.upperBound)") }
            return v
        }
        let d = try int("embedding_length", 8...16384), layers = try int("block_count", 1...256)
        let heads = try int("attention.head_count", 1...256), kv = try int("attention.head_count_kv", 1...256)
        guard d % heads == 0, (d / heads) % 2 == 0, heads % kv == 0 else {
            throw GGUFError("\(f.path): \(heads) heads and \(kv) kv heads do not divide embedding_length \(d) into even heads")
        }
        if let rd = f.metadata["llama.rope.dimension_count"]?.int, rd != d / heads {
            throw GGUFError("\(f.path): partial rotary embeddings (rope.dimension_count \(rd) < head size \(d / heads)) are not supported")
        }
        guard let vocab = f.metadata["tokenizer.ggml.tokens"]?.array?.count, vocab > 0 else { throw GGUFError("\(f.path): no tokenizer.ggml.tokens") }
        var c = TransformerConfig(vocabSize: vocab, dModel: d, layers: layers, heads: heads, kvHeads: kv,
                                  ffnHidden: try int("feed_forward_length", 1...131072), maxSequence: try int("context_length", 16...1 << 20))
        c.norm = .rms; c.activation = .swiglu; c.positions = .rope; c.ropePairing = .adjacent; c.bias = false
        c.ropeBase = f.metadata["llama.rope.freq_base"]?.double ?? 10_000
        c.normEps = Float(f.metadata["llama.attention.layer_norm_rms_epsilon"]?.double ?? 1e-5)
        guard c.ropeBase > 1, c.ropeBase.isFinite, c.normEps > 0, c.normEps < 1 else { throw GGUFError("\(f.path): rope.freq_base or the RMS epsilon is out of range") }
        c.tieEmbeddings = f.tensor("output.weight") == nil
        return c
    }

    /// GGUF tensor name → parameter of the transformer (PyTorch layout, `[out, in]`, which is ggml's `ne` reversed).
    static func names(_ c: TransformerConfig) -> [(gguf: String, param: String)] {
        var out = [("token_embd.weight", "embed.weight"), ("output_norm.weight", "final_norm.weight")]
        if !c.tieEmbeddings { out.append(("output.weight", "head.weight")) }
        for i in 0..<c.layers {
            let b = "blocks.\(i)."
            out += [("blk.\(i).attn_norm.weight", b + "norm1.weight"), ("blk.\(i).ffn_norm.weight", b + "norm2.weight"),
                    ("blk.\(i).attn_q.weight", b + "attn.q.weight"), ("blk.\(i).attn_k.weight", b + "attn.k.weight"),
                    ("blk.\(i).attn_v.weight", b + "attn.v.weight"), ("blk.\(i).attn_output.weight", b + "attn.o.weight"),
                    ("blk.\(i).ffn_gate.weight", b + "mlp.gate.weight"), ("blk.\(i).ffn_up.weight", b + "mlp.up.weight"),
                    ("blk.\(i).ffn_down.weight", b + "mlp.down.weight")]
        }
        return out
    }

    /// Whether a matrix of this type stays in its blocks (the float types are turned into Float parameters).
    public static func keepsQuantized(_ type: GGMLType) -> Bool {
        switch type {
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q4_K, .q5_K, .q6_K: return true
        case .f32, .f16, .bf16: return false
        }
    }

    /// Loads the model. Quantised matrices stay in the file's blocks (mapped, not copied: about the file's size in
    /// memory) and run on them, frozen; norms and float matrices become Float parameters. `dequantize: true`
    /// turns every weight into a trainable Float parameter instead (SmolLM2-135M: 540 MB).
    public init(path: String, dequantize: Bool = false) throws {
        let f = try GGUFFile(path: path)
        let c = try Self.config(f)
        tokenizer = try GGUFTokenizer(gguf: f)
        guard tokenizer.tokens.count == c.vocabSize else { throw GGUFError("\(path): vocabulary and tokens disagree") }
        let mapping = Self.names(c)
        let known = Set(mapping.map(\.gguf))
        if let extra = f.tensors.first(where: { !known.contains($0.name) && !$0.name.hasPrefix("rope_") }) {
            throw GGUFError("\(path): tensor '\(extra.name)' is not part of a llama model gtr knows")
        }
        for (g, _) in mapping where f.tensor(g) == nil { throw GGUFError("\(path): tensor '\(g)' is missing") }
        let gguf = Dictionary(uniqueKeysWithValues: mapping.map { ($0.param, $0.gguf) })
        // shape: the parameter's (PyTorch layout, `[out, in]`), which is ggml's `ne` reversed
        model = try DecoderTransformer(c) { key, shape in
            guard let g = gguf[key], let t = f.tensor(g) else { throw GGUFError("internal: no GGUF tensor for \(key)") }
            let want = Array(shape.reversed())
            guard t.dims == want else { throw GGUFError("\(path): tensor '\(g)' has dims \(t.dims), the config implies \(want)") }
            if !dequantize, shape.count == 2, Self.keepsQuantized(t.type) {
                let q = try f.quantizedMatrix(t)
                guard q.firstNonFiniteBlock() == nil else { throw GGUFError("\(path): tensor '\(g)' holds a non-finite value") }
                return .quantized(q)
            }
            let v = f.dequantize(t)
            guard v.allSatisfy({ $0.isFinite }) else { throw GGUFError("\(path): tensor '\(g)' holds a non-finite value") }
            return .float(Tensor(shape: shape, scalars: v))
        }
        file = f
        runner = LlamaRunner(model)
    }

    /// Whether the projections run on quantised blocks (8-bit activation rounding, as llama.cpp).
    public var quantized: Bool { model.blocks.first?.attn.q.quantized != nil }

    /// Logits of the next token after `ids`: (V).
    public func nextLogits(_ ids: [Int]) -> [Float] {
        Autograd.noGrad { nextLogitsNoGrad(ids) }
    }

    func nextLogitsNoGrad(_ ids: [Int]) -> [Float] {
        if let runner {
            let s = runner.makeSequence(capacity: ids.count)
            return runner.logits(runner.forward([ids], [s])).scalars
        }
        let logits = model(ids, batch: 1)  // (1, T, V)
        let v = model.config.vocabSize, t = ids.count
        let all = logits.scalars
        return Array(all[((t - 1) * v)..<(t * v)])
    }

    /// Greedy continuation of `ids` (KV cache), up to `maxTokens` or the end-of-sequence token (included).
    public func greedy(_ ids: [Int], maxTokens: Int) -> [Int] {
        Autograd.noGrad { greedyNoGrad(ids, maxTokens: maxTokens) }
    }

    func greedyNoGrad(_ ids: [Int], maxTokens: Int) -> [Int] {
        if let runner {
            // the prompt in one batch, then one token at a time, as llama.cpp's reference run does
            let s = runner.makeSequence(capacity: ids.count + maxTokens)
            var logits = runner.logits(runner.forward([ids], [s])).scalars
            var out: [Int] = []
            for _ in 0..<maxTokens {
                var best = 0
                for i in logits.indices where logits[i] > logits[best] { best = i }
                out.append(best)
                if best == tokenizer.eos { break }
                logits = runner.logits(runner.forward([[best]], [s])).scalars
            }
            return out
        }
        let cache = KVCache(layers: model.config.layers, reserve: ids.count + maxTokens)
        var logits = model(ids, batch: 1, cache: cache).scalars
        let v = model.config.vocabSize
        var out: [Int] = []
        for _ in 0..<maxTokens {
            let last = logits[(logits.count - v)...]
            var best = last.startIndex
            for i in last.indices where last[i] > last[best] { best = i }
            let id = best - last.startIndex
            out.append(id)
            if id == tokenizer.eos { break }
            logits = model([id], batch: 1, cache: cache).scalars
        }
        return out
    }
}
