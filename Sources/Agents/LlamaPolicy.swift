import Foundation
import Support
import Tensors

/// A llama-architecture GGUF (SmolLM2-135M-Instruct and kin) as a text policy: it reads the step's prompt (never
/// the frame; environments describe their state in words with `observation=text`) as one user turn of the file's
/// chat template and writes its answer as the assistant's turn, ended by the template's end-of-turn token.
///
/// Sequence layout (one row): `<|im_start|>system … <|im_end|> <|im_start|>user prompt <|im_end|>
/// <|im_start|>assistant\n o₁ … oₘ <|im_end|>`. A value head (one linear layer on the hidden state at the last
/// prompt position, zero at the start) gives PPO its baseline.
public final class LlamaPolicy: Policy, @unchecked Sendable {
    public static let kind = "llama-gguf"
    /// The longest sequence gtr runs by default (SmolLM2's GGUF allows 8,192; a Points24 prompt is ~300 tokens).
    public static let defaultContext = 2048

    public let llama: GGUFLlama
    public let ggufPath: String
    public let context: Int
    /// value = h·w + b on the last prompt position's hidden state h: (C).
    public let valueHead: Linear
    public var name: String
    public var training: [String: String] = [:]
    /// The LoRA adapters when the model is being (or was) fine-tuned (`enableLoRA`).
    public internal(set) var lora: LoRASet?

    /// What a llama checkpoint directory's config.json holds: the kind, the base GGUF and the context gtr uses.
    public struct Checkpoint: Codable, Sendable {
        public var kind = LlamaPolicy.kind
        public var gguf: String
        public var context: Int?
        public var name: String?
        public var training: [String: String]?
        public var lora: LoRAConfig?
    }

    public init(path: String, context: Int = LlamaPolicy.defaultContext, name: String? = nil) throws {
        do { llama = try GGUFLlama(path: path) } catch let e as GGUFError { throw AgentError.badCheckpoint(e.description) }
        guard llama.tokenizer.eos != nil else { throw AgentError.badCheckpoint("\(path): the GGUF names no end-of-sequence token") }
        do { _ = try llama.tokenizer.chatPrompt([("user", "x")]) } catch let e as GGUFError { throw AgentError.badCheckpoint("\(path): \(e.description)") }
        ggufPath = path
        self.context = max(64, min(context, llama.model.config.maxSequence))
        var rng = TensorRNG(seed: 0x7A1)
        valueHead = Linear(llama.model.config.dModel, 1, rng: &rng)
        for p in valueHead.namedParameters() { p.1.assign(Tensor.zeros(p.1.shape)) }
        self.name = name ?? URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
    }

    /// A `.gguf` file, or a checkpoint directory whose config.json names one (a relative path is read from the
    /// directory).
    public static func load(from url: URL) throws -> LlamaPolicy {
        if url.pathExtension.lowercased() == "gguf" { return try LlamaPolicy(path: url.path) }
        let cfgURL = url.appendingPathComponent("config.json")
        guard let data = try? Data(contentsOf: cfgURL) else { throw AgentError.badCheckpoint("\(cfgURL.path) cannot be read") }
        guard let c = try? JSONDecoder().decode(Checkpoint.self, from: data) else {
            throw AgentError.badCheckpoint("\(cfgURL.path): expected {\"kind\": \"\(kind)\", \"gguf\": PATH, \"context\": N}")
        }
        let path = c.gguf.hasPrefix("/") ? c.gguf : url.appendingPathComponent(c.gguf).path
        guard FileManager.default.fileExists(atPath: path) else { throw AgentError.badCheckpoint("\(cfgURL.path) names \(path), which does not exist") }
        let p = try LlamaPolicy(path: path, context: c.context ?? defaultContext, name: c.name)
        p.training = c.training ?? [:]
        if let l = c.lora { try p.enableLoRA(l, seed: 0) }
        let wf = url.appendingPathComponent("adapters.safetensors")
        if FileManager.default.fileExists(atPath: wf.path) {
            let file: SafeTensors
            do { file = try SafeTensors(path: wf.path) } catch { throw AgentError.badCheckpoint("\(wf.path): \(error)") }
            let named = p.namedParameters()
            if let extra = file.names.first(where: { n in !named.contains { $0.0 == n } }) {
                throw AgentError.badCheckpoint("\(wf.path): tensor '\(extra)' does not belong to this model (LoRA config and file disagree)")
            }
            for (key, param) in named {
                guard let t = try? file.tensor(key), t.shape == param.shape, t.scalars.allSatisfy({ $0.isFinite }) else {
                    throw AgentError.badCheckpoint("\(wf.path): '\(key)' is missing, of the wrong shape or not finite")
                }
                param.assign(t)
            }
        }
        return p
    }

    public func save(to dir: URL) throws {
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let c = Checkpoint(gguf: URL(fileURLWithPath: ggufPath).standardizedFileURL.path, context: context, name: name, training: training,
                           lora: lora?.config)
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        try enc.encode(c).write(to: dir.appendingPathComponent("config.json"), options: .atomic)
        // the value head and the adapters: everything that is not the base file
        try SafeTensors.write(Dictionary(uniqueKeysWithValues: namedParameters().map { ($0.0, $0.1) }),
                              metadata: ["format": "gtr llama-gguf adapters 1"], to: dir.appendingPathComponent("adapters.safetensors").path)
    }

    var tokenizer: GGUFTokenizer { llama.tokenizer }
    var model: DecoderTransformer { llama.model }
    var dModel: Int { model.config.dModel }

    // MARK: Policy

    public var kind: String { Self.kind }
    public var contextLength: Int { context }
    public var readsImages: Bool { false }
    /// Quantised layers round activations to 8 bits per block (as llama.cpp does), so a cached, left-padded batch
    /// and a full forward can land a rounding step apart: PPO re-scores rollouts before updating.
    public var reproducibleLogProbs: Bool { !llama.quantized }
    public var endOfText: Int32 { Int32(tokenizer.eos!) }
    public var vocabularySize: Int { tokenizer.tokens.count }

    /// The prompt as the chat template writes it, assistant turn opened: ids.
    public func promptIDs(_ prompt: String) -> [Int] {
        let text = (try? tokenizer.chatPrompt([("user", prompt)])) ?? prompt
        return tokenizer.encode(text, special: true, addSpecial: true)
    }

    public func inputTokenCount(_ input: AgentInput) -> (visual: Int, text: Int) { (0, promptIDs(input.prompt).count) }

    /// The answer text is encoded without special-token parsing: a thought that mentions `<|im_end|>` stays text.
    public func encode(_ text: String) -> [Int32] { tokenizer.encode(text, special: false, addSpecial: false).map { Int32($0) } }
    public func decode(_ ids: [Int32]) -> String { tokenizer.decode(ids.map(Int.init)) }
    public func tokenText(_ id: Int32) -> String { tokenizer.decode([Int(id)]) }

    public var summary: String {
        let c = model.config
        return "\(name): llama, \(c.layers) layers, d \(c.dModel), \(c.heads)/\(c.kvHeads) heads, vocabulary \(c.vocabSize), context \(context) (text only; from \(ggufPath))"
    }

    public func describe() -> [String] {
        let c = model.config
        let f = llama.file
        let types = Dictionary(grouping: f.tensors, by: { $0.type.name }).map { "\($0.value.count)×\($0.key)" }.sorted().joined(separator: ", ")
        return [
            "kind:      \(kind) (reads text only: use observation=text environments)",
            "file:      \(ggufPath)",
            "decoder:   \(c.layers) layers, d_model \(c.dModel), \(c.heads) heads (\(c.kvHeads) kv), ffn \(c.ffnHidden), RMSNorm, SwiGLU, RoPE base \(Int(c.ropeBase))",
            "weights:   \(types)",
            "tokenizer: byte-level BPE (\(tokenizer.pre)), \(tokenizer.tokens.count) tokens, chat template ChatML, end of turn \(tokenText(endOfText))",
            "context:   \(context) tokens (the file allows \(c.maxSequence))",
            "lora:      " + (lora.map { "rank \($0.config.rank), alpha \($0.config.alpha) on \($0.config.targets.joined(separator: ",")) (\($0.parameterCount) trainable parameters)" } ?? "none"),
        ]
    }

    // MARK: generation

    public func generate(_ inputs: [AgentInput], prefixes: [[Int32]]?, config g: GenerationConfig) throws -> [PolicyOutput] {
        guard !inputs.isEmpty else { return [] }
        if let prefixes {
            guard prefixes.count == inputs.count else { throw AgentError.badInput("one prefix per input") }
            guard prefixes.joined().allSatisfy({ $0 >= 0 && Int($0) < vocabularySize }) else { throw AgentError.badInput("token id outside the vocabulary") }
        }
        guard g.temperature > 0 || g.greedy else { throw AgentError.badInput("temperature must be > 0 (or use greedy)") }
        let forced = prefixes ?? inputs.map { _ in [] }
        let texts = inputs.map { promptIDs($0.prompt) }
        for t in texts { try checkFits(inputTokens: t.count, maxNewTokens: g.maxNewTokens) }
        let prompts = zip(texts, forced).map { $0 + $1.map(Int.init) }
        let longest = prompts.map(\.count).max()!
        let budget = min(g.maxNewTokens, contextLength - longest)
        guard budget > 0 else { throw AgentError.contextTooShort(inputTokens: longest, answerTokens: g.maxNewTokens, context: contextLength) }
        let raw = try Autograd.noGrad { try generateRows(prompts: prompts, promptLengths: texts.map(\.count), config: g, budget: budget) }
        return try prefixes == nil ? raw : rescored(raw, after: forced, inputs: inputs, config: g)
    }

    /// Left-padded batch through a KV cache; each row samples with its own generator (seed + row).
    private func generateRows(prompts: [[Int]], promptLengths: [Int], config g: GenerationConfig, budget: Int) throws -> [PolicyOutput] {
        let b = prompts.count, v = model.config.vocabSize, d = dModel, eos = tokenizer.eos!
        if let runner = llama.runner {
            return try generateRows(runner, prompts: prompts, promptLengths: promptLengths, config: g, budget: budget)
        }
        let longest = prompts.map(\.count).max()!
        let pads = prompts.map { longest - $0.count }
        // padding ids are masked out of every key (keyStart); their value is irrelevant
        let ids = zip(prompts, pads).flatMap { Array(repeating: eos, count: $1) + $0 }
        let cache = KVCache(layers: model.config.layers, reserve: longest + budget)
        var h = OpProfile.region("generate: prefill") { model.hidden(model.embedTokens(ids, batch: b), cache: cache, keyStart: pads) }  // (B, T0, C)
        // the value reads the last prompt position (before any forced prefix)
        let valueRows = (0..<b).map { r in r * longest + pads[r] + promptLengths[r] - 1 }
        let hFlat = h.reshape([b * longest, d])
        let values = valueHead(hFlat.gather(axis: 0, index: valueRows.flatMap { Array(repeating: $0, count: d) }, shape: [b, d])).scalars
        var last = h.slice(axis: 1, longest - 1, longest).reshape([b, d])
        let sampling = SamplingRows(count: b, config: g, eos: eos, idle: eos)
        for _ in 0..<budget {
            let logits = OpProfile.region("generate: logits") { model.logits(last).contiguous() }  // (B, V)
            try sampling.step(logits, vocab: v)
            if sampling.allDone { break }
            let next = sampling.next
            h = OpProfile.region("generate: decoding step") { model.hidden(model.embedTokens(next, batch: b), cache: cache, keyStart: pads) }
            last = h.reshape([b, d])
        }
        return sampling.outputs(values: values, decode: decode, spans: spans(of:))
    }

    /// Every row its own sequence in llama.cpp's arithmetic (`LlamaRunner`: no padding, F16 KV cache), the
    /// projections batched over the rows; each row samples with its own generator (seed + row).
    private func generateRows(_ runner: LlamaRunner, prompts: [[Int]], promptLengths: [Int], config g: GenerationConfig, budget: Int) throws -> [PolicyOutput] {
        let b = prompts.count, v = model.config.vocabSize, d = dModel, eos = tokenizer.eos!
        let seqs = prompts.map { runner.makeSequence(capacity: $0.count + budget + 1) }
        // h: (Σ Tᵣ, C) for every prompt position of every row, rows one after the other
        let h = OpProfile.region("generate: prefill") { runner.forward(prompts, seqs, allPositions: true) }
        var starts = [0]
        for p in prompts { starts.append(starts.last! + p.count) }
        // the value reads the last prompt position (before any forced prefix)
        let valueRows = (0..<b).map { starts[$0] + promptLengths[$0] - 1 }
        let values = valueHead(h.gather(axis: 0, index: valueRows.flatMap { Array(repeating: $0, count: d) }, shape: [b, d])).scalars
        var last = h.gather(axis: 0, index: (1...b).flatMap { Array(repeating: starts[$0] - 1, count: d) }, shape: [b, d])
        let sampling = SamplingRows(count: b, config: g, eos: eos, idle: eos)
        for _ in 0..<budget {
            let logits = OpProfile.region("generate: logits") { runner.logits(last) }  // (B, V)
            try sampling.step(logits, vocab: v)
            if sampling.allDone { break }
            last = OpProfile.region("generate: decoding step") { runner.forward(sampling.next.map { [$0] }, seqs) }
        }
        return sampling.outputs(values: values, decode: decode, spans: spans(of:))
    }

    /// Where the thought ends and the action begins (the end-of-turn token belongs to the action).
    public func spans(of output: [Int32]) -> OutputSpans {
        var offsets = [0]
        for id in output { offsets.append(offsets.last! + tokenizer.bytes(Int(id)).count) }
        let bytes = output.flatMap { tokenizer.bytes(Int($0)) }
        return OutputSpans.locate(text: String(decoding: bytes, as: UTF8.self), byteOffsets: offsets)
    }

    // MARK: scoring

    public func value(_ input: AgentInput) throws -> Float {
        let ids = promptIDs(input.prompt)
        try checkFits(inputTokens: ids.count, maxNewTokens: 0)
        return Autograd.noGrad {
            let h = model.hidden(model.embedTokens(ids, batch: 1))
            return valueHead(h.slice(axis: 1, ids.count - 1, ids.count).reshape([1, dModel])).item()
        }
    }

    public func evaluate(_ input: AgentInput, outputs: [[Int32]], lambda: Float, temperature: Float) throws -> [PolicyEvaluation] {
        guard !outputs.isEmpty else { return [] }
        let prompt = promptIDs(input.prompt)
        for o in outputs {
            guard !o.isEmpty else { throw AgentError.badInput("nothing to score: the output has no tokens") }
            guard o.allSatisfy({ $0 >= 0 && Int($0) < vocabularySize }) else { throw AgentError.badInput("token id outside the vocabulary") }
            guard prompt.count + o.count <= contextLength else {
                throw AgentError.badInput("prompt and output are \(prompt.count + o.count) tokens; the model reads at most \(contextLength)")
            }
        }
        // scoring runs as training does (fp32 activations over long sequences), so evaluate equals `score`
        return QuantizedMatrix.withFloatActivations { Autograd.noGrad {
            let b = outputs.count, d = dModel, v = model.config.vocabSize
            let t = prompt.count + outputs.map(\.count).max()!
            // right padding: causal attention leaves each row's real positions untouched
            let ids = outputs.flatMap { o in prompt + o.map(Int.init) + Array(repeating: tokenizer.eos!, count: t - prompt.count - o.count) }
            let h = model.hidden(model.embedTokens(ids, batch: b)).reshape([b * t, d])  // (B·T, C)
            let values = valueHead(h.gather(axis: 0, index: (0..<b).flatMap { Array(repeating: $0 * t + prompt.count - 1, count: d) }, shape: [b, d])).scalars
            // logits only where an answer token is predicted: rows P−1 … P+m−2 of each sequence
            var positions: [Int] = []
            for (r, o) in outputs.enumerated() { for k in 0..<o.count { positions.append(r * t + prompt.count - 1 + k) } }
            let hs = h.gather(axis: 0, index: positions.flatMap { Array(repeating: $0, count: d) }, shape: [positions.count, d])
            var logits = model.logits(hs)  // (N, V)
            if temperature != 1 { logits = logits * (1 / temperature) }
            let z = logits.contiguous()
            var at = 0
            return outputs.enumerated().map { r, o in
                var lps: [Float] = [], ents: [Float] = []
                for k in 0..<o.count {
                    let (lp, en) = TinyVLM.logProbAndEntropy(z.pointer + (at + k) * v, v, target: Int(o[k]))
                    lps.append(lp); ents.append(en)
                }
                at += o.count
                let sp = spans(of: o)
                let thought = lps[..<sp.actionTokenStart].reduce(0, +), action = lps[sp.actionTokenStart...].reduce(0, +)
                return PolicyEvaluation(tokenLogProbs: lps, spans: sp, thoughtLogProb: thought, actionLogProb: action,
                                        logProb: lambda * thought + action, value: values[r], tokenEntropies: ents)
            }
        } }
    }
}
