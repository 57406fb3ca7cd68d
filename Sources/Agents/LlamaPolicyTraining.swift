import Foundation
import Tensors

/// Training a llama GGUF with LoRA: the base weights stay frozen; the adapters and the value head are the
/// parameters SFT and the PPO-GTR trainer update. Differentiable scores run the full sequence (prompt + answer,
/// right-padded) and apply the LM head only where an answer token is predicted.
extension LlamaPolicy: TrainablePolicy {
    /// Attaches fresh adapters (B = 0: the model is unchanged until trained) and freezes every base weight.
    public func enableLoRA(_ config: LoRAConfig, seed: UInt64) throws {
        guard config.rank >= 1, config.rank <= 256, config.alpha > 0, config.alpha.isFinite else {
            throw AgentError.badInput("LoRA rank must be 1…256 and alpha positive (rank \(config.rank), alpha \(config.alpha))")
        }
        guard !config.targets.isEmpty, config.targets.allSatisfy(LoRAConfig.allTargets.contains) else {
            throw AgentError.badInput("LoRA targets must be among \(LoRAConfig.allTargets.joined(separator: ", "))")
        }
        lora?.detach()
        model.freeze()
        let set = LoRASet(model, config: config, seed: seed)
        set.attach()
        lora = set
    }

    public func namedParameters() -> [(String, Parameter)] {
        valueHead.namedParameters().map { ("value." + $0.0, $0.1) } + (lora?.namedParameters().map { ("lora." + $0.0, $0.1) } ?? [])
    }

    public func prepare(_ rows: [TrainingRow]) throws -> [TrainingRow] {
        try rows.map { r in
            var out = r
            out.encoded = EncodedInput(owner: self, visual: [], tokens: try checkedPrompt(r))
            return out
        }
    }

    /// The prompt ids of a checked row (from `prepare` when this policy prepared it).
    func checkedPrompt(_ r: TrainingRow) throws -> [Int] {
        guard r.weights.count == r.output.count else { throw AgentError.badInput("\(r.output.count) answer tokens but \(r.weights.count) weights") }
        guard !r.output.isEmpty else { throw AgentError.badInput("nothing to score: the output has no tokens") }
        guard r.output.allSatisfy({ $0 >= 0 && Int($0) < vocabularySize }) else { throw AgentError.badInput("token id outside the vocabulary") }
        let prompt = (r.encoded.flatMap { $0.owner === self ? $0.tokens : nil }) ?? promptIDs(r.input.prompt)
        guard prompt.count + r.output.count <= contextLength else {
            throw AgentError.badInput("prompt and output are \(prompt.count + r.output.count) tokens; the model reads at most \(contextLength)")
        }
        return prompt
    }

    /// Training's forward: long sequences run fp32 GEMMs over dequantised tiles of the frozen base (no 8-bit
    /// activation rounding); PPO's re-score of the rollout goes through here too, so its first ratio is 1.
    public func score(_ rows: [TrainingRow], temperature: Float) throws -> PolicyScores {
        try QuantizedMatrix.withFloatActivations { try scoreRows(rows, temperature: temperature) }
    }

    func scoreRows(_ rows: [TrainingRow], temperature: Float) throws -> PolicyScores {
        guard !rows.isEmpty else { throw AgentError.badInput("nothing to score: no rows") }
        let prompts = try rows.map(checkedPrompt)
        let b = rows.count, d = dModel, v = model.config.vocabSize
        let t = zip(prompts, rows).map { $0.count + $1.output.count }.max()!
        let pad = tokenizer.eos!
        // right padding: causal attention leaves each row's real positions untouched
        var ids: [Int] = []
        for r in 0..<b {
            let answer: [Int] = rows[r].output.map { Int($0) }
            ids += prompts[r]
            ids += answer
            ids += [Int](repeating: pad, count: t - prompts[r].count - answer.count)
        }
        let h = model.hidden(model.embedTokens(ids, batch: b)).reshape([b * t, d])  // (B·T, C)
        var valueIndex: [Int] = []
        for r in 0..<b { valueIndex += [Int](repeating: r * t + prompts[r].count - 1, count: d) }
        let value = valueHead(h.gather(axis: 0, index: valueIndex, shape: [b, d])).reshape([b])
        // answer token k of row r is predicted at position P_r − 1 + k
        var positions: [Int] = []
        for r in 0..<b { for k in 0..<rows[r].output.count { positions.append(r * t + prompts[r].count - 1 + k) } }
        let hs = h.gather(axis: 0, index: positions.flatMap { Array(repeating: $0, count: d) }, shape: [positions.count, d])  // (N, C)
        var logits = model.logits(hs)  // (N, V)
        if temperature != 1 { logits = logits * (1 / temperature) }
        let detached = logits.detached().contiguous()
        var weighted: [Tensor<Float>] = [], lps: [[Float]] = [], ents: [[Float]] = []
        var at = 0
        for r in 0..<b {
            let m = rows[r].output.count
            let part = logits.slice(axis: 0, at, at + m)  // (m, V)
            weighted.append(part.crossEntropy(targets: rows[r].output.map(Int.init), weights: rows[r].weights, normalize: false) * -1)
            var lp: [Float] = [], en: [Float] = []
            for k in 0..<m {
                let (a, e) = TinyVLM.logProbAndEntropy(detached.pointer + (at + k) * v, v, target: Int(rows[r].output[k]))
                lp.append(a); en.append(e)
            }
            lps.append(lp); ents.append(en)
            at += m
        }
        return PolicyScores(weighted: Tensor.stack(weighted, axis: 0), value: value, tokenLogProbs: lps, entropies: ents)
    }

    /// A frozen copy: the base file loaded again (its weights never change) with copies of the adapters and the
    /// value head.
    public func snapshot() -> Policy {
        do {
            let copy = try LlamaPolicy(path: ggufPath, context: context, name: name)
            copy.training = training
            if let l = lora { try copy.enableLoRA(l.config, seed: 0) }
            let mine = Dictionary(uniqueKeysWithValues: namedParameters())
            for (k, p) in copy.namedParameters() { p.assign(mine[k]!.detached()) }
            copy.model.freeze(); copy.valueHead.freeze(); copy.lora?.freeze()
            return copy
        } catch {
            // the file was readable moments ago; if it is gone the live model is still a valid (mutable) policy
            return self
        }
    }
}
