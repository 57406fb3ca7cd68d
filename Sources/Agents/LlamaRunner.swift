import Foundation
import Tensors

/// Inference for a llama-architecture `DecoderTransformer` (a GGUF llama) in llama.cpp's arithmetic, so that greedy
/// decoding picks llama.cpp's tokens: the projections run on the quantised blocks with 8-bit activations
/// (`QuantizedMatrix`), keys and values are rounded to F16 as llama.cpp's default KV cache stores them, queries and
/// attention probabilities are rounded to F16 for their products with the cache, and every reduction is summed in
/// ggml-cpu's order (`GGMLArithmetic`). A prompt of several tokens uses the order of llama.cpp's batched path
/// (tinyBLAS), a single new token that of its vector path (`ggml_vec_dot_f16`), as llama.cpp does.
///
/// Rows of a batch are independent sequences of any length (no padding): every sequence keeps its own cache and
/// positions, and only the projections are shared (each output row is computed whole, in the same order, whatever
/// the batch), so a row decodes the same tokens alone or in a batch. Training and scoring keep the autograd
/// transformer (`DecoderTransformer`); LoRA adapters attached to its projections are applied here too.
public final class LlamaRunner: @unchecked Sendable {
    public let model: DecoderTransformer
    let cfg: TransformerConfig
    let thetaScale: Float
    let attnNorms: [Tensor<Float>], ffnNorms: [Tensor<Float>], outNorm: Tensor<Float>

    /// One sequence's KV cache: per layer keys and values (capacity, kvHeads, headDim), rounded to F16 (kept as Float
    /// so attention reads them without conversion).
    public final class Sequence {
        public private(set) var length = 0
        fileprivate var capacity: Int
        fileprivate var keys: [UnsafeMutablePointer<Float>], values: [UnsafeMutablePointer<Float>]
        fileprivate let rowWidth: Int

        fileprivate init(layers: Int, rowWidth: Int, capacity: Int) {
            self.capacity = Swift.max(capacity, 16); self.rowWidth = rowWidth
            keys = (0..<layers).map { _ in .allocate(capacity: Swift.max(capacity, 16) * rowWidth) }
            values = (0..<layers).map { _ in .allocate(capacity: Swift.max(capacity, 16) * rowWidth) }
        }
        deinit { for p in keys + values { p.deallocate() } }

        /// Room for `need` positions (doubling).
        fileprivate func reserve(_ need: Int) {
            guard need > capacity else { return }
            let cap = Swift.max(need, capacity * 2)
            for l in keys.indices {
                for which in 0..<2 {
                    let fresh = UnsafeMutablePointer<Float>.allocate(capacity: cap * rowWidth)
                    let old = which == 0 ? keys[l] : values[l]
                    fresh.update(from: old, count: length * rowWidth)
                    old.deallocate()
                    if which == 0 { keys[l] = fresh } else { values[l] = fresh }
                }
            }
            capacity = cap
        }
        fileprivate func advance(_ t: Int) { length += t }
    }

    /// nil unless the model is llama-shaped (RMSNorm, SwiGLU, RoPE on adjacent pairs, no biases, heads of a multiple
    /// of 16).
    public init?(_ model: DecoderTransformer) {
        let c = model.config
        let norms1 = model.blocks.compactMap { ($0.norm1 as? RMSNorm)?.weight }
        let norms2 = model.blocks.compactMap { ($0.norm2 as? RMSNorm)?.weight }
        guard c.norm == .rms, c.activation == .swiglu, c.positions == .rope, c.ropePairing == .adjacent, !c.bias,
              c.headDim % 16 == 0, c.heads % c.kvHeads == 0, norms1.count == c.layers, norms2.count == c.layers,
              let fin = (model.finalNorm as? RMSNorm)?.weight,
              model.blocks.allSatisfy({ $0.mlp.gate != nil }) else { return nil }
        self.model = model; cfg = c
        attnNorms = norms1.map { $0.contiguous() }; ffnNorms = norms2.map { $0.contiguous() }
        outNorm = fin.contiguous()
        thetaScale = GGMLArithmetic.ropeThetaScale(base: Float(c.ropeBase), dims: c.headDim)
    }

    /// Called with each intermediate result (llama.cpp's tensor names: `attn_norm`, `Qcur` and `Kcur` after RoPE,
    /// `Vcur`, `kqv_out`, `attn_out`, `ffn_inp`, `ffn_norm`, `ffn_gate`, `ffn_up`, `ffn_swiglu`, `ffn_out`, `l_out`,
    /// `result_norm`), its layer (−1 for the last) and the values (N, width): to compare a run with llama.cpp's
    /// graph callback op by op (`gtr-bench llama-dump`).
    public var inspect: ((String, Int, Tensor<Float>) -> Void)?

    public func makeSequence(capacity: Int) -> Sequence {
        Sequence(layers: cfg.layers, rowWidth: cfg.kvHeads * cfg.headDim, capacity: capacity)
    }

    /// Feeds `tokens[r]` to `sequences[r]` for every r together. Returns the hidden states after the final norm of
    /// each sequence's last new token, (rows, C), or with `allPositions` of every new token, (Σ Tᵣ, C) in row order.
    public func forward(_ tokens: [[Int]], _ sequences: [Sequence], allPositions: Bool = false) -> Tensor<Float> {
        precondition(tokens.count == sequences.count && tokens.allSatisfy({ !$0.isEmpty }), "LlamaRunner: one non-empty token list per sequence")
        return Autograd.noGrad { run(tokens, sequences, allPositions: allPositions) }
    }

    /// Logits (rows, V) of hidden states from `forward`.
    public func logits(_ h: Tensor<Float>) -> Tensor<Float> { Autograd.noGrad { model.logits(h).contiguous() } }

    private func run(_ tokens: [[Int]], _ seqs: [Sequence], allPositions: Bool) -> Tensor<Float> {
        let c = cfg.dModel, counts = tokens.map(\.count), n = counts.reduce(0, +)
        var starts = [0]
        for t in counts { starts.append(starts.last! + t) }
        for (s, t) in zip(seqs, counts) { s.reserve(s.length + t) }
        // x: (N, C) token embeddings (quantised rows dequantised as ggml's get_rows does)
        let x = model.embed(tokens.flatMap { $0 }, shape: [n]).contiguous()
        let a = Tensor<Float>(uninitialized: [n, c])
        for (l, blk) in model.blocks.enumerated() {
            norm(x, attnNorms[l], into: a, rows: 0..<n)
            inspect?("attn_norm", l, a)
            let qkv = project([blk.attn.q, blk.attn.k, blk.attn.v], a)
            let q = qkv[0], k = qkv[1], v = qkv[2]
            let y = attention(q, k, v, layer: l, seqs, counts: counts, starts: starts)
            if let inspect { inspect("Qcur", l, q); inspect("Kcur", l, k); inspect("Vcur", l, v); inspect("kqv_out", l, y) }
            let o = blk.attn.o(y).contiguous()
            inspect?("attn_out", l, o)
            add(x, o)
            inspect?("ffn_inp", l, x)
            norm(x, ffnNorms[l], into: a, rows: 0..<n)
            inspect?("ffn_norm", l, a)
            let gu = project([blk.mlp.gate!, blk.mlp.up], a)
            let g = gu[0], u = gu[1]
            let hdn = Tensor<Float>(uninitialized: g.shape)
            let f = cfg.ffnHidden
            Parallel.run(chunks: n, work: n * f * 8) { i in
                GGMLArithmetic.swiglu(g.pointer + i * f, u.pointer + i * f, hdn.pointer + i * f, count: f)
            }
            let dn = blk.mlp.down(hdn).contiguous()
            if let inspect { inspect("ffn_gate", l, g); inspect("ffn_up", l, u); inspect("ffn_swiglu", l, hdn); inspect("ffn_out", l, dn) }
            add(x, dn)
            inspect?("l_out", l, x)
        }
        for (s, t) in zip(seqs, counts) { s.advance(t) }
        let rows = allPositions ? Array(0..<n) : (1...counts.count).map { starts[$0] - 1 }
        let out = Tensor<Float>(uninitialized: [rows.count, c])
        for (i, r) in rows.enumerated() {
            GGMLArithmetic.rmsNorm(x.pointer + r * c, out.pointer + i * c, count: c, eps: cfg.normEps)
            for j in 0..<c { out.pointer[i * c + j] *= outNorm.pointer[j] }
        }
        inspect?("result_norm", -1, out)
        return out
    }

    /// The layers' outputs for one input a: (N, in) → (N, out) each. Quantised weights go through one shared
    /// rounding of a and one dispatch (`QuantizedMatrix.multiply(_:_:n:into:)`); LoRA adapters are added after.
    private func project(_ layers: [Linear], _ a: Tensor<Float>) -> [Tensor<Float>] {
        let n = a.shape[0]
        let quantized = layers.compactMap(\.quantized)
        guard quantized.count == layers.count, layers.allSatisfy({ $0.bias == nil }) else { return layers.map { $0(a).contiguous() } }
        let outs = layers.map { Tensor<Float>(uninitialized: [n, $0.outFeatures]) }
        QuantizedMatrix.multiply(quantized, a.pointer, n: n, into: outs.map(\.pointer))
        return zip(layers, outs).map { layer, y in layer.adapter.map { (y + $0(a)).contiguous() } ?? y }
    }

    /// into[r] = rms_norm(x[r]) · w (ggml: RMS_NORM then MUL).
    private func norm(_ x: Tensor<Float>, _ w: Tensor<Float>, into a: Tensor<Float>, rows: Range<Int>) {
        let c = cfg.dModel, px = x.pointer, pa = a.pointer, pw = w.pointer
        for r in rows {
            GGMLArithmetic.rmsNorm(px + r * c, pa + r * c, count: c, eps: cfg.normEps)
            for j in 0..<c { pa[r * c + j] *= pw[j] }
        }
    }

    /// x += y elementwise (the residual adds).
    private func add(_ x: Tensor<Float>, _ y: Tensor<Float>) {
        let px = x.pointer, py = y.pointer
        for i in 0..<x.count { px[i] += py[i] }
    }

    /// Self-attention of every sequence's new tokens: RoPE on q and k, k and v appended to the cache in F16,
    /// softmax(q·kᵀ/√D) over the cached positions (causal), the probabilities (F16) times v. Returns y: (N, H·D).
    private func attention(_ q: Tensor<Float>, _ k: Tensor<Float>, _ v: Tensor<Float>, layer l: Int, _ seqs: [Sequence],
                           counts: [Int], starts: [Int]) -> Tensor<Float> {
        let h = cfg.heads, hkv = cfg.kvHeads, d = cfg.headDim, group = h / hkv
        let qw = h * d, kw = hkv * d
        // RoPE at each token's position, then the new keys and values into the caches (F16 values)
        for (r, s) in seqs.enumerated() {
            for t in 0..<counts[r] {
                let i = starts[r] + t, pos = s.length + t
                GGMLArithmetic.rope(q.pointer + i * qw, heads: h, dims: d, position: pos, thetaScale: thetaScale)
                GGMLArithmetic.rope(k.pointer + i * kw, heads: hkv, dims: d, position: pos, thetaScale: thetaScale)
                let kd = s.keys[l] + pos * kw, vd = s.values[l] + pos * kw
                for j in 0..<kw { kd[j] = GGMLArithmetic.half(k.pointer[i * kw + j]); vd[j] = GGMLArithmetic.half(v.pointer[i * kw + j]) }
            }
        }
        let y = Tensor<Float>(uninitialized: [q.shape[0], qw])
        let scale = 1 / Float(d).squareRoot()
        let maxLen = zip(seqs, counts).map { $0.length + $1 }.max()!
        let tasks = seqs.count * h
        // work: the products, weighted for the F16 roundings and exponentials around them (a decoding step's nine
        // heads over a hundred positions are worth the second core: ~4 % of a step when left on one)
        Parallel.run(chunks: tasks, work: counts.reduce(0, +) * maxLen * qw * 16) { task in
            let r = task / h, head = task % h, kvh = head / group, s = seqs[r]
            // several new tokens: llama.cpp's batched products (tinyBLAS); one: its vector dot (ggml_vec_dot_f16)
            let tiled = counts[r] > 1
            let scores = UnsafeMutablePointer<Float>.allocate(capacity: maxLen)
            let qh = UnsafeMutablePointer<Float>.allocate(capacity: d)
            let acc = UnsafeMutablePointer<Float>.allocate(capacity: 64 * d)
            defer { scores.deallocate(); qh.deallocate(); acc.deallocate() }
            for t in 0..<counts[r] {
                let i = starts[r] + t
                for j in 0..<d { qh[j] = GGMLArithmetic.half(q.pointer[i * qw + head * d + j]) }
                GGMLArithmetic.attendRow(q: qh, keys: s.keys[l] + kvh * d, values: s.values[l] + kvh * d, stride: kw,
                                         valid: s.length + t + 1, dims: d, scale: scale, tiled: tiled,
                                         scores: scores, acc: acc, out: y.pointer + i * qw + head * d)
            }
        }
        return y
    }
}
