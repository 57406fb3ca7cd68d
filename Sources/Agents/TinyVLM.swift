import Foundation
import Support
import Tensors


/// A small vision-language policy: 36 visual tokens from linear patch embeddings of the pooled frame, followed by
/// `<bos> prompt <sep>`, then the answer and `<eos>`, through a decoder-only transformer; a value head reads the
/// hidden state at `<sep>`, the last prompt position.
///
/// Sequence layout (one row): `[v₀ … v₃₅] <bos> p₁ … pₙ <sep> o₁ … oₘ <eos>`.
public final class TinyVLM: Module, Policy {
    /// The checkpoint kind (`config.json` "kind") this class is registered under in `PolicyRegistry`.
    public static let kind = "tiny-vlm"
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

    public convenience init(config: TinyVLMConfig, tokenizer: BPETokenizer, seed: UInt64 = 0) throws {
        try config.validate()
        guard config.transformer.vocabSize == tokenizer.vocabSize else {
            throw AgentError.badCheckpoint("vocabulary size \(config.transformer.vocabSize) does not match the tokenizer's \(tokenizer.vocabSize)")
        }
        self.init(validated: config, tokenizer: tokenizer, seed: seed)
    }

    /// A model of a shape already validated (by the public init or a model being copied).
    init(validated config: TinyVLMConfig, tokenizer: BPETokenizer, seed: UInt64) {
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
        guard img.pixels.count == img.width * img.height * 3 else {
            throw AgentError.badInput("a \(img.width)×\(img.height) frame holds \(img.pixels.count) bytes, not \(img.width * img.height * 3)")
        }
        let side = c.imageSide / c.downsample, f = c.downsample, pp = c.patchesPerSide, ps = c.patch
        // 2×2 mean pooling to (side, side, 3) in [-1, 1], then the patches minus the pixel mean; raw pointers
        // (this runs for every frame the agent sees: a rollout step, an SFT sample), the same sums in the same order
        let scale = 1 / Float(f * f) / 127.5
        let pooled = UnsafeMutablePointer<Float>.allocate(capacity: side * side * 3)
        defer { pooled.deallocate() }
        img.pixels.withUnsafeBufferPointer { buf in
            let px = buf.baseAddress!, w = c.imageSide
            for y in 0..<side {
                for x in 0..<side {
                    var r: Float = 0, g: Float = 0, b: Float = 0
                    for dy in 0..<f {
                        let row = px + ((y * f + dy) * w + x * f) * 3
                        for dx in 0..<f {
                            let q = row + dx * 3
                            r += Float(q[0]); g += Float(q[1]); b += Float(q[2])
                        }
                    }
                    let o = pooled + (y * side + x) * 3
                    o[0] = r * scale - 1; o[1] = g * scale - 1; o[2] = b * scale - 1
                }
            }
        }
        var out = [Float](repeating: 0, count: c.patchCount * c.patchDim)
        let mean = pixelMean.pointer, rowLen = ps * 3
        out.withUnsafeMutableBufferPointer { ob in
            let o = ob.baseAddress!
            for py in 0..<pp {
                for px in 0..<pp {
                    let base = (py * pp + px) * c.patchDim
                    for y in 0..<ps {
                        let src = pooled + ((py * ps + y) * side + px * ps) * 3, dst = o + base + y * rowLen, m = mean + base + y * rowLen
                        for k in 0..<rowLen { dst[k] = src[k] - m[k] }
                    }
                }
            }
        }
        return out
    }

    /// `<bos> prompt <sep>` ids.
    public func promptIDs(_ prompt: String) -> [Int] {
        [Int(BPETokenizer.bos)] + tokenizer.encode(prompt).map(Int.init) + [Int(BPETokenizer.sep)]
    }

    /// Input embeddings of several rows: visual tokens then text. Rows shorter than the longest are padded on
    /// the right (training: causal attention keeps real positions unaffected) or on the left (generation: the
    /// returned `pads` feed `keyStart`). x: (B, T, C).
    func embed(patches: [[Float]], texts: [[Int]], leftPad: Bool, padTo: Int? = nil) -> (x: Tensor<Float>, pads: [Int]) {
        let b = texts.count, p = config.patchCount, d = config.transformer.dModel
        let pix = Tensor<Float>(shape: [b, p, config.patchDim], scalars: patches.flatMap { $0 })
        // vis: (B, P, C) = patches·Wᵀ + b + pos
        let vis = patchNorm(patchEmbed(pix)) + patchPositions(Array(0..<p), shape: [p])
        let longest = Swift.max(padTo ?? 0, texts.map(\.count).max() ?? 0)
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

    // MARK: Policy

    public var kind: String { TinyVLM.kind }
    public var contextLength: Int { config.transformer.maxSequence }

    public func inputTokenCount(_ input: AgentInput) -> (visual: Int, text: Int) {
        (config.patchCount, promptIDs(input.prompt).count)
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
    public var vocabularySize: Int { tokenizer.vocabSize }

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
        let texts = inputs.map { promptIDs($0.prompt) }
        for t in texts { try checkFits(inputTokens: config.patchCount + t.count, maxNewTokens: g.maxNewTokens) }
        let prompts = zip(texts, forced).map { $0 + $1.map(Int.init) }
        let pts = try inputs.map { try patches($0.image) }
        let longest = prompts.map(\.count).max()! + config.patchCount
        // a forced prefix takes its room from the answer budget
        let budget = min(g.maxNewTokens, contextLength - longest)
        guard budget > 0 else { throw AgentError.contextTooShort(inputTokens: longest, answerTokens: g.maxNewTokens, context: contextLength) }
        let raw = try Autograd.noGrad { try generateRows(prompts: prompts, patches: pts, config: g, budget: budget) }
        return try prefixes == nil ? raw : rescored(raw, after: forced, inputs: inputs, config: g)
    }

    /// Rows per prompt pass of batched generation. Fixed, so a row's prompt pass has the same bits at any thread
    /// count (a GEMM's bits depend on its shape); four rows keep the passes' GEMMs as fast per row as a whole batch's.
    static let prefillRows = 4

    /// How a batch of `rows` is generated: its rows cut into prompt-pass chunks of `prefillRows`, the chunks into
    /// groups, each generated (prompt passes, then its decoding steps together) on a thread of its own with a KV
    /// cache of its own. A decoding step of a few rows is too small to share out op by op (each op's work is a few
    /// microseconds, and the threads would meet a hundred times a step); whole groups meet once. A group holds at
    /// most `invariantRows` rows, the rows up to which every decoding product keeps each row's bits whatever rows
    /// share it, so a row's tokens, log-probs and value are the same bits in any group, and so at any thread count.
    /// Without that guarantee (`invariantRows` 0: no AVX2) a batch stays one group.
    static func generationPlan(rows: Int, threads: Int, invariantRows: Int) -> [[Range<Int>]] {
        let chunks = stride(from: 0, to: rows, by: prefillRows).map { $0..<Swift.min(rows, $0 + prefillRows) }
        guard invariantRows >= prefillRows, chunks.count > 1 else { return [chunks] }
        let perGroup = invariantRows / prefillRows
        let n = Swift.min(chunks.count, Swift.max(threads, (chunks.count + perGroup - 1) / perGroup))
        return (0..<n).map { g in Array(chunks[(g * chunks.count / n)..<((g + 1) * chunks.count / n)]) }
    }

    private func generateRows(prompts: [[Int]], patches pts: [[Float]], config g: GenerationConfig, budget: Int) throws -> [PolicyOutput] {
        let plan = TinyVLM.generationPlan(rows: prompts.count, threads: Parallel.threads, invariantRows: SmallGemm.invariantRows)
        let longest = prompts.map(\.count).max()!
        if plan.count == 1 { return try generateGroup(plan[0], prompts: prompts, patches: pts, padTo: longest, config: g, budget: budget) }
        // Inside a pool job the kernels run inline on their own thread (the pool is busy); a worker thread has no
        // task-local state, so gradient recording is switched off again there.
        return try Parallel.pool.map(plan.count) { i in
            try Autograd.noGrad {
                try self.generateGroup(plan[i], prompts: prompts, patches: pts, padTo: longest, config: g, budget: budget)
            }
        }.flatMap { $0 }
    }

    /// Generates rows `chunks` (contiguous prompt-pass chunks) of the batch: every prompt left-padded to `padTo`
    /// text tokens, as in the whole batch.
    private func generateGroup(_ chunks: [Range<Int>], prompts allPrompts: [[Int]], patches allPatches: [[Float]], padTo: Int,
                               config g: GenerationConfig, budget: Int) throws -> [PolicyOutput] {
        let rows = chunks.first!.lowerBound..<chunks.last!.upperBound
        let d = config.transformer.dModel
        // the prompt passes fill one cache per chunk; only the last position's hidden state is needed: (rows, C)
        var caches: [KVCache] = [], lasts: [Tensor<Float>] = [], pads: [Int] = [], values: [Float] = []
        for c in chunks {
            let (x, p) = embed(patches: Array(allPatches[c]), texts: Array(allPrompts[c]), leftPad: true, padTo: padTo)
            let cache = KVCache(layers: config.transformer.layers, reserve: x.shape[1] + budget)
            let h = OpProfile.region("generate: prefill") { decoder.hidden(x, cache: cache, keyStart: p, lastOnly: true) }
            let last = h.reshape([c.count, d])
            caches.append(cache); lasts.append(last); pads += p; values += valueHead(last).scalars
        }
        return try decodeRows(firstRow: rows.lowerBound, cache: caches.count == 1 ? caches[0] : KVCache(joining: caches),
                              last: lasts.count == 1 ? lasts[0] : Tensor.concat(lasts, axis: 0), pads: pads, values: values,
                              config: g, budget: budget)
    }

    /// The decoding steps of rows whose prompts fill `cache`; `last`: (B, C) hidden states of their last positions.
    private func decodeRows(firstRow: Int, cache: KVCache, last first: Tensor<Float>, pads: [Int], values: [Float],
                            config g: GenerationConfig, budget: Int) throws -> [PolicyOutput] {
        let b = first.shape[0], v = config.transformer.vocabSize, d = config.transformer.dModel
        var last = first
        let sampling = SamplingRows(count: b, config: g, eos: Int(BPETokenizer.eos), idle: Int(BPETokenizer.pad), firstRow: firstRow)
        // the rows still in the batch (batch position → row) and their left padding
        var live = Array(0..<b), livePads = pads
        for _ in 0..<budget {
            let logits = OpProfile.region("generate: logits") { decoder.logits(last).contiguous() }  // (live, V)
            try sampling.step(logits, vocab: v, live: live)
            if sampling.allDone { break }
            // Finished rows leave the batch once a quarter of it is done (each row's bits do not depend on the
            // batch it is in, so nothing else changes): the cache moves the others down, which costs about a
            // step, and saves every later step the finished rows' share.
            let keep = live.indices.filter { !sampling.rows[live[$0]].done }
            if keep.count * 4 <= live.count * 3 {
                cache.keepRows(keep)
                live = keep.map { live[$0] }; livePads = keep.map { livePads[$0] }
            }
            let next = live.map { sampling.rows[$0].next }
            let h = OpProfile.region("generate: decoding step") {
                decoder.hidden(decoder.embed(next, shape: [live.count, 1]), cache: cache, keyStart: livePads)
            }
            last = h.reshape([live.count, d])
        }
        return sampling.outputs(values: values, decode: { tokenizer.decode($0) }, spans: spans(of:))
    }
}
