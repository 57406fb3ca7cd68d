import Foundation
import Support
import Tensors

/// Shape of the tiny vision-language policy. Stored in a checkpoint's `config.json` next to the tokenizer.
public struct TinyVLMConfig: Codable, Sendable, Equatable {
    /// The decoder. Positions must be RoPE: batched generation left-pads prompts, and relative positions make a
    /// padded row compute exactly what it would alone.
    public var transformer: TransformerConfig
    /// Side of the square observation (gym-cards frames are 300×300).
    public var imageSide = 300
    /// Average-pool factor applied before patching (300 → 150 keeps the 5×7 rank glyphs legible).
    public var downsample = 2
    /// Patch side after pooling (150 / 25 = 6×6 = 36 visual tokens).
    public var patch = 25
    /// Hidden width of the value head MLP.
    public var valueHidden = 64

    public init(transformer: TransformerConfig, imageSide: Int = 300, downsample: Int = 2, patch: Int = 25, valueHidden: Int = 64) {
        self.transformer = transformer; self.imageSide = imageSide; self.downsample = downsample; self.patch = patch
        self.valueHidden = valueHidden
    }

    public var patchesPerSide: Int { imageSide / downsample / patch }
    public var patchCount: Int { patchesPerSide * patchesPerSide }
    public var patchDim: Int { patch * patch * 3 }

    /// The default agent: d=128, 4 layers, 4 heads, SwiGLU, RMSNorm, RoPE, tied embeddings.
    public static func small(vocabSize: Int) -> TinyVLMConfig {
        var t = TransformerConfig(vocabSize: vocabSize, dModel: 128, layers: 4, heads: 4, ffnHidden: 384, maxSequence: 1024)
        t.norm = .rms; t.activation = .swiglu; t.positions = .rope; t.bias = false; t.tieEmbeddings = true
        return TinyVLMConfig(transformer: t)
    }

    func validate() throws {
        guard transformer.positions == .rope else { throw AgentError.badCheckpoint("the tiny VLM needs RoPE positions") }
        guard downsample >= 1, patch >= 1, imageSide % (downsample * patch) == 0 else {
            throw AgentError.badCheckpoint("image side \(imageSide) is not a multiple of downsample·patch = \(downsample * patch)")
        }
        guard transformer.dModel > 0, transformer.dModel % transformer.heads == 0, transformer.layers > 0,
              transformer.vocabSize > 260, transformer.vocabSize <= 1 << 20, transformer.dModel <= 8192, transformer.layers <= 64 else {
            throw AgentError.badCheckpoint("implausible transformer shape \(transformer)")
        }
    }
}

/// What `config.json` of a checkpoint holds.
public struct TinyVLMCheckpointConfig: Codable {
    public var kind = "tiny-vlm"
    public var model: TinyVLMConfig
    public var tokenizer: BPETokenizer
    /// How the checkpoint was made (command, data, metrics), free-form.
    public var training: [String: String]
}

/// A small vision-language policy: 36 visual tokens from linear patch embeddings of the pooled frame, followed by
/// `<bos> prompt <sep>`, then the answer and `<eos>`, through a decoder-only transformer; a value head reads the
/// hidden state at `<sep>`, the last prompt position.
///
/// Sequence layout (one row): `[v₀ … v₃₅] <bos> p₁ … pₙ <sep> o₁ … oₘ <eos>`.
public final class TinyVLM: Module, Policy {
    public let config: TinyVLMConfig
    public let tokenizer: BPETokenizer
    /// Per-pixel mean of the training frames (frozen), subtracted before the patch embedding so that the static
    /// table, card borders and text labels cancel and what differs between states (the ranks, the formula)
    /// dominates the visual tokens.
    public let pixelMean: Parameter
    public let patchEmbed: Linear
    /// Normalises visual tokens to the scale of text embeddings.
    public let patchNorm: RMSNorm
    public let patchPositions: Embedding
    public let decoder: DecoderTransformer
    public let valueHidden: Linear
    public let valueOut: Linear
    public var name = "tiny-vlm"
    /// Free-form description of how the weights were made (from the checkpoint).
    public var training: [String: String] = [:]

    public init(config: TinyVLMConfig, tokenizer: BPETokenizer, seed: UInt64 = 0) throws {
        try config.validate()
        guard config.transformer.vocabSize == tokenizer.vocabSize else {
            throw AgentError.badCheckpoint("vocabulary size \(config.transformer.vocabSize) does not match the tokenizer's \(tokenizer.vocabSize)")
        }
        self.config = config; self.tokenizer = tokenizer
        var rng = TensorRNG(seed: seed &+ 0x5EED)
        let d = config.transformer.dModel
        pixelMean = Tensor.zeros([config.patchCount * config.patchDim])
        patchEmbed = Linear(config.patchDim, d, rng: &rng)
        patchNorm = RMSNorm(d)
        patchPositions = Embedding(config.patchCount, d, rng: &rng)
        decoder = DecoderTransformer(config.transformer, seed: seed)
        valueHidden = Linear(d, config.valueHidden, rng: &rng)
        valueOut = Linear(config.valueHidden, 1, rng: &rng)
        pixelMean.requiresGrad = false
    }

    /// Sets `pixelMean` to the mean of these frames' (un-centred) patches.
    public func fitPixelMean(_ images: [RGBImage]) throws {
        guard !images.isEmpty else { return }
        let n = pixelMean.count
        for i in 0..<n { pixelMean.pointer[i] = 0 }
        var acc = [Double](repeating: 0, count: n)
        for img in images { let p = try patches(img); for i in 0..<n { acc[i] += Double(p[i]) } }
        for i in 0..<n { pixelMean.pointer[i] = Float(acc[i] / Double(images.count)) }
    }

    public func namedParameters() -> [(String, Parameter)] {
        [("pixel_mean", pixelMean)]
            + patchEmbed.namedParameters().map { ("patch_embed." + $0.0, $0.1) }
            + patchNorm.namedParameters().map { ("patch_norm." + $0.0, $0.1) }
            + patchPositions.namedParameters().map { ("patch_positions." + $0.0, $0.1) }
            + decoder.namedParameters().map { ("decoder." + $0.0, $0.1) }
            + valueHidden.namedParameters().map { ("value.hidden." + $0.0, $0.1) }
            + valueOut.namedParameters().map { ("value.out." + $0.0, $0.1) }
    }

    // MARK: inputs

    /// Pooled, normalised patches of a frame: (P, patch·patch·3) row-major, values in [−1, 1].
    public func patches(_ img: RGBImage) throws -> [Float] {
        let c = config
        guard img.width == c.imageSide, img.height == c.imageSide else {
            throw AgentError.badInput("the agent reads \(c.imageSide)×\(c.imageSide) frames, got \(img.width)×\(img.height)")
        }
        let side = c.imageSide / c.downsample, f = c.downsample, pp = c.patchesPerSide, ps = c.patch
        var pooled = [Float](repeating: 0, count: side * side * 3)
        let scale = 1 / Float(f * f) / 127.5
        img.pixels.withUnsafeBufferPointer { px in
            for y in 0..<side { for x in 0..<side {
                var r: Float = 0, g: Float = 0, b: Float = 0
                for dy in 0..<f { for dx in 0..<f {
                    let i = ((y * f + dy) * c.imageSide + x * f + dx) * 3
                    r += Float(px[i]); g += Float(px[i + 1]); b += Float(px[i + 2])
                } }
                let o = (y * side + x) * 3
                pooled[o] = r * scale - 1; pooled[o + 1] = g * scale - 1; pooled[o + 2] = b * scale - 1
            } }
        }
        var out = [Float](repeating: 0, count: c.patchCount * c.patchDim)
        let mean = pixelMean.pointer
        for py in 0..<pp { for px in 0..<pp {
            let base = (py * pp + px) * c.patchDim
            for y in 0..<ps {
                let src = ((py * ps + y) * side + px * ps) * 3
                for k in 0..<(ps * 3) { out[base + y * ps * 3 + k] = pooled[src + k] - mean[base + y * ps * 3 + k] }
            }
        } }
        return out
    }

    /// `<bos> prompt <sep>` ids.
    public func promptIDs(_ prompt: String) -> [Int] {
        [Int(BPETokenizer.bos)] + tokenizer.encode(prompt).map(Int.init) + [Int(BPETokenizer.sep)]
    }

    /// Input embeddings of several rows: visual tokens then text. Rows shorter than the longest are padded on
    /// the right (training: causal attention keeps real positions unaffected) or on the left (generation: the
    /// returned `pads` feed `keyStart`). x: (B, T, C).
    func embed(patches: [[Float]], texts: [[Int]], leftPad: Bool) -> (x: Tensor<Float>, pads: [Int]) {
        let b = texts.count, p = config.patchCount, d = config.transformer.dModel
        let pix = Tensor<Float>(shape: [b, p, config.patchDim], scalars: patches.flatMap { $0 })
        // vis: (B, P, C) = patches·Wᵀ + b + pos
        let vis = patchNorm(patchEmbed(pix)) + patchPositions(Array(0..<p), shape: [p])
        let longest = texts.map(\.count).max() ?? 0
        let pads = texts.map { longest - $0.count }
        if !leftPad || pads.allSatisfy({ $0 == 0 }) {
            let ids = texts.flatMap { $0 + Array(repeating: Int(BPETokenizer.pad), count: longest - $0.count) }
            return (Tensor.concat([vis, decoder.embed(ids, shape: [b, longest])], axis: 1), Array(repeating: 0, count: b))
        }
        var rows: [Tensor<Float>] = []
        for r in 0..<b {
            var parts: [Tensor<Float>] = []
            if pads[r] > 0 { parts.append(Tensor.zeros([pads[r], d])) }
            parts.append(vis.slice(axis: 0, r, r + 1).reshape([p, d]))
            parts.append(decoder.embed(texts[r], shape: [texts[r].count]))
            rows.append(Tensor.concat(parts, axis: 0))
        }
        return (Tensor.stack(rows, axis: 0), pads)
    }

    /// value head on hidden states h: (N, C) → (N)
    func valueHead(_ h: Tensor<Float>) -> Tensor<Float> {
        valueOut(valueHidden(h).relu()).reshape([h.shape[0]])
    }

    // MARK: scoring (training and evaluate)

    /// One row to score: the input and the answer ids (EOS included when the answer ended with it).
    public struct ScoreRow {
        public var patches: [Float]
        public var promptIDs: [Int]
        public var output: [Int32]
        /// Per-output-token loss weight (λ for thought, 1 for action; 0 masks a token).
        public var weights: [Float]
        public init(patches: [Float], promptIDs: [Int], output: [Int32], weights: [Float]) {
            self.patches = patches; self.promptIDs = promptIDs; self.output = output; self.weights = weights
        }
    }

    /// Differentiable scores of a batch: Σ wₖ·log π_T(oₖ | prefix) per row (B), the value per row (B), and the
    /// per-token tempered log-probs and entropies (no gradient) for reporting.
    public func score(_ rows: [ScoreRow], temperature: Float = 1) -> (weighted: Tensor<Float>, value: Tensor<Float>, tokenLogProbs: [[Float]], entropies: [[Float]]) {
        let p = config.patchCount, v = config.transformer.vocabSize, d = config.transformer.dModel
        let texts = rows.map { $0.promptIDs + $0.output.map(Int.init) }
        let (x, _) = embed(patches: rows.map(\.patches), texts: texts, leftPad: false)
        let t = x.shape[1], b = rows.count
        let h = decoder.hidden(x)  // (B, T, C)
        // value at <sep>: position P + promptLen − 1
        let sepPos = rows.map { p + $0.promptIDs.count - 1 }
        let hFlat = h.reshape([b * t, d])
        let index = (0..<b).flatMap { r in Array(repeating: r * t + sepPos[r], count: d) }
        let value = valueHead(hFlat.gather(axis: 0, index: index, shape: [b, d]))
        var logits = decoder.logits(h)  // (B, T, V)
        if temperature != 1 { logits = logits * (1 / temperature) }
        var weighted: [Tensor<Float>] = []
        var tokenLPs: [[Float]] = [], ents: [[Float]] = []
        for r in 0..<b {
            // output token k sits at P + promptLen + k and is predicted at the position before it
            let first = sepPos[r], m = rows[r].output.count
            var targets = Array(repeating: -100, count: t)
            var w = Array(repeating: Float(0), count: t)
            for k in 0..<m { targets[first + k] = Int(rows[r].output[k]); w[first + k] = rows[r].weights[k] }
            let lr = logits.slice(axis: 0, r, r + 1).reshape([t, v])
            weighted.append(lr.crossEntropy(targets: targets, weights: w, normalize: false) * -1)
            let (lp, en) = TinyVLM.tokenStats(lr.detached(), rows: Array(first..<(first + m)), targets: rows[r].output)
            tokenLPs.append(lp); ents.append(en)
        }
        return (Tensor.stack(weighted, axis: 0), value, tokenLPs, ents)
    }

    /// log-softmax of the target and entropy at the given rows of a (T, V) logit matrix (already tempered).
    static func tokenStats(_ logits: Tensor<Float>, rows: [Int], targets: [Int32]) -> ([Float], [Float]) {
        let x = logits.contiguous(), v = x.shape[1]
        var lps: [Float] = [], ents: [Float] = []
        for (k, r) in rows.enumerated() {
            let (lp, en) = logProbAndEntropy(x.pointer + r * v, v, target: Int(targets[k]))
            lps.append(lp); ents.append(en)
        }
        return (lps, ents)
    }

    static func logProbAndEntropy(_ z: UnsafePointer<Float>, _ v: Int, target: Int) -> (Float, Float) {
        var mx = -Float.infinity
        for i in 0..<v where z[i] > mx { mx = z[i] }
        var s: Double = 0, sz: Double = 0
        for i in 0..<v { let e = Double(Foundation.exp(z[i] - mx)); s += e; sz += e * Double(z[i] - mx) }
        let lse = Double(mx) + Foundation.log(s)
        // H = lse − E[z]
        let entropy = Float(lse - (sz / s + Double(mx)))
        return (Float(Double(z[target]) - lse), max(0, entropy))
    }

    /// Loss weights for an answer: λ on thought tokens, 1 on action tokens (EOS belongs to the action).
    public func spans(of output: [Int32]) -> OutputSpans {
        let text = tokenizer.decode(output)
        return OutputSpans.locate(text: text, byteOffsets: tokenizer.byteOffsets(output))
    }

    // MARK: Policy

    public func evaluate(_ input: AgentInput, outputTokens: [Int32], lambda: Float, temperature: Float) throws -> PolicyEvaluation {
        guard !outputTokens.isEmpty else { throw AgentError.badInput("nothing to score: the output has no tokens") }
        guard outputTokens.allSatisfy({ $0 >= 0 && Int($0) < tokenizer.vocabSize }) else { throw AgentError.badInput("token id outside the vocabulary") }
        let row = ScoreRow(patches: try patches(input.image), promptIDs: promptIDs(input.prompt), output: outputTokens,
                           weights: Array(repeating: 1, count: outputTokens.count))
        guard config.patchCount + row.promptIDs.count + outputTokens.count <= config.transformer.maxSequence else {
            throw AgentError.badInput("prompt and output are \(config.patchCount + row.promptIDs.count + outputTokens.count) tokens; the model reads at most \(config.transformer.maxSequence)")
        }
        let s = Autograd.noGrad { score([row], temperature: temperature) }
        let lps = s.tokenLogProbs[0]
        let sp = spans(of: outputTokens)
        // Σ in fp32 over exactly the given tokens
        let thought = lps[..<sp.actionTokenStart].reduce(0, +), action = lps[sp.actionTokenStart...].reduce(0, +)
        return PolicyEvaluation(tokenLogProbs: lps, spans: sp, thoughtLogProb: thought, actionLogProb: action,
                                logProb: lambda * thought + action, value: s.value.item(), tokenEntropies: s.entropies[0])
    }

    public func value(_ input: AgentInput) throws -> Float {
        let ids = promptIDs(input.prompt)
        let pt = try patches(input.image)
        return Autograd.noGrad {
            let (x, _) = embed(patches: [pt], texts: [ids], leftPad: false)
            let h = decoder.hidden(x)
            let last = h.slice(axis: 1, x.shape[1] - 1, x.shape[1]).reshape([1, config.transformer.dModel])
            return valueHead(last).item()
        }
    }

    public func encode(_ text: String) -> [Int32] { tokenizer.encode(text) }
    public func decode(_ ids: [Int32]) -> String { tokenizer.decode(ids) }
    public func tokenText(_ id: Int32) -> String { tokenizer.display(id) }
    public var endOfText: Int32 { BPETokenizer.eos }

    public func generate(_ inputs: [AgentInput], config g: GenerationConfig) throws -> [PolicyOutput] {
        try generate(inputs, prefixes: nil, config: g)
    }

    /// Generation that continues after forced answer prefixes (an edited thought): each output's `tokenIDs` are
    /// the prefix followed by the new tokens, and every log-prob is re-scored under the same prompt.
    public func generate(_ inputs: [AgentInput], prefixes: [[Int32]]?, config g: GenerationConfig) throws -> [PolicyOutput] {
        guard !inputs.isEmpty else { return [] }
        if let prefixes {
            guard prefixes.count == inputs.count else { throw AgentError.badInput("one prefix per input") }
            guard prefixes.joined().allSatisfy({ $0 >= 0 && Int($0) < tokenizer.vocabSize }) else { throw AgentError.badInput("token id outside the vocabulary") }
        }
        guard g.temperature > 0 || g.greedy else { throw AgentError.badInput("temperature must be > 0 (or use greedy)") }
        let forced = prefixes ?? inputs.map { _ in [] }
        let prompts = zip(inputs, forced).map { promptIDs($0.prompt) + $1.map(Int.init) }
        let pts = try inputs.map { try patches($0.image) }
        let longest = prompts.map(\.count).max()! + config.patchCount
        let budget = min(g.maxNewTokens, config.transformer.maxSequence - longest)
        guard budget > 0 else { throw AgentError.badInput("the prompt (\(longest) tokens) fills the model's \(config.transformer.maxSequence)-token context") }
        let raw = Autograd.noGrad { generateRows(prompts: prompts, patches: pts, config: g, budget: budget) }
        guard prefixes != nil else { return raw }
        return try zip(zip(inputs, forced), raw).map { pair, o in
            let (input, prefix) = pair
            let all = prefix + o.tokenIDs
            let ev = try evaluate(input, outputTokens: all, lambda: 1, temperature: g.greedy && g.temperature <= 0 ? 1 : g.temperature)
            let text = decode(o.finished ? Array(all.dropLast()) : all)
            return PolicyOutput(text: text, tokenIDs: all, tokenLogProbs: ev.tokenLogProbs,
                                behaviourLogProbs: Array(repeating: 0, count: prefix.count) + o.behaviourLogProbs,
                                tokenEntropies: ev.tokenEntropies, spans: ev.spans, value: ev.value, finished: o.finished)
        }
    }

    private func generateRows(prompts: [[Int]], patches pts: [[Float]], config g: GenerationConfig, budget: Int) -> [PolicyOutput] {
        let b = prompts.count, v = config.transformer.vocabSize, d = config.transformer.dModel
        let temp = g.greedy && g.temperature <= 0 ? 1 : g.temperature
        let cache = KVCache(layers: config.transformer.layers)
        let (x, pads) = embed(patches: pts, texts: prompts, leftPad: true)
        var h = decoder.hidden(x, cache: cache, keyStart: pads)  // (B, T0, C)
        let t0 = x.shape[1]
        var last = h.slice(axis: 1, t0 - 1, t0).reshape([b, d])
        let values = valueHead(last).scalars
        var rngs = (0..<b).map { SeededRNG(seed: g.seed &+ UInt64($0) &* 0x9E37_79B9_7F4A_7C15) }
        var ids = Array(repeating: [Int32](), count: b)
        var lps = ids.map { _ in [Float]() }, blps = lps, ents = lps
        var done = Array(repeating: false, count: b)
        var z = [Float](repeating: 0, count: v)
        for _ in 0..<budget {
            let logits = decoder.logits(last).contiguous()  // (B, V)
            var next = [Int](repeating: Int(BPETokenizer.pad), count: b)
            for r in 0..<b where !done[r] {
                let row = logits.pointer + r * v
                for i in 0..<v { z[i] = row[i] / temp }
                let tok = Sampler.draw(z, generated: ids[r], config: g, rng: &rngs[r])
                // scored distribution: the tempered logits, without penalty or top-p
                let (lp, en) = z.withUnsafeBufferPointer { TinyVLM.logProbAndEntropy($0.baseAddress!, v, target: tok.id) }
                ids[r].append(Int32(tok.id)); lps[r].append(lp); blps[r].append(tok.behaviourLogProb); ents[r].append(en)
                next[r] = tok.id
                if tok.id == Int(BPETokenizer.eos) { done[r] = true }
            }
            if done.allSatisfy({ $0 }) { break }
            h = decoder.hidden(decoder.embed(next, shape: [b, 1]), cache: cache, keyStart: pads)
            last = h.reshape([b, d])
        }
        return (0..<b).map { r in
            let finished = ids[r].last == BPETokenizer.eos
            let body = finished ? Array(ids[r].dropLast()) : ids[r]
            let text = tokenizer.decode(body)
            return PolicyOutput(text: text, tokenIDs: ids[r], tokenLogProbs: lps[r], behaviourLogProbs: blps[r], tokenEntropies: ents[r],
                                spans: spans(of: ids[r]), value: values[r], finished: finished)
        }
    }

    // MARK: checkpoints

    /// Writes `model.safetensors` and `config.json` (model shape, tokenizer, how it was trained) into `dir`.
    public func save(to dir: URL) throws {
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let cfg = TinyVLMCheckpointConfig(model: config, tokenizer: tokenizer, training: training)
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        try enc.encode(cfg).write(to: dir.appendingPathComponent("config.json"))
        try Checkpoint.save(self, metadata: ["format": "gtr tiny-vlm 1"], to: dir.appendingPathComponent("model.safetensors").path)
    }

    /// Loads a checkpoint directory; every failure is one clear `AgentError`.
    public static func load(from dir: URL) throws -> TinyVLM {
        let cfgURL = dir.appendingPathComponent("config.json"), wURL = dir.appendingPathComponent("model.safetensors")
        guard FileManager.default.fileExists(atPath: cfgURL.path) else {
            throw AgentError.badCheckpoint("\(dir.path) has no config.json (a checkpoint is a directory with config.json and model.safetensors)")
        }
        let cfg: TinyVLMCheckpointConfig
        do { cfg = try JSONDecoder().decode(TinyVLMCheckpointConfig.self, from: Data(contentsOf: cfgURL)) } catch {
            throw AgentError.badCheckpoint("\(cfgURL.path) is not a tiny-vlm config: \(TinyVLM.short(error))")
        }
        guard cfg.kind == "tiny-vlm" else { throw AgentError.badCheckpoint("unknown model kind '\(cfg.kind)'") }
        let m = try TinyVLM(config: cfg.model, tokenizer: cfg.tokenizer)
        do { try Checkpoint.load(m, from: wURL.path) } catch {
            throw AgentError.badCheckpoint("\(wURL.path): \(error)")
        }
        m.training = cfg.training
        return m
    }

    static func short(_ e: Error) -> String {
        if let d = e as? DecodingError {
            switch d {
            case let .keyNotFound(k, _): return "missing key '\(k.stringValue)'"
            case let .typeMismatch(_, c), let .valueNotFound(_, c), let .dataCorrupted(c):
                return c.debugDescription + (c.codingPath.isEmpty ? "" : " at " + c.codingPath.map(\.stringValue).joined(separator: "."))
            @unknown default: return "\(d)"
            }
        }
        return "\(e)"
    }
}
