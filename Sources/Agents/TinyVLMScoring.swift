import Foundation
import Tensors

/// Scoring: the differentiable batch scores training reads (`TrainablePolicy.score`) and `evaluate`, which is
/// the same forward pass without a graph.
extension TinyVLM: TrainablePolicy {
    /// One row as the model reads it: pooled patches, `<bos> prompt <sep>` ids and the answer with its weights.
    struct ScoreRow {
        var patches: [Float]
        var promptIDs: [Int]
        var output: [Int32]
        /// Per-output-token loss weight (λ for thought, 1 for action; 0 masks a token).
        var weights: [Float]
    }

    public func score(_ rows: [TrainingRow], temperature: Float) throws -> PolicyScores {
        guard !rows.isEmpty else { throw AgentError.badInput("nothing to score: no rows") }
        let s = score(try rows.map(scoreRow), temperature: temperature)
        return PolicyScores(weighted: s.weighted, value: s.value, tokenLogProbs: s.tokenLogProbs, entropies: s.entropies)
    }

    public func prepare(_ rows: [TrainingRow]) throws -> [TrainingRow] {
        try rows.map { r in
            let s = try scoreRow(r)
            var out = r
            out.encoded = EncodedInput(owner: self, visual: s.patches, tokens: s.promptIDs)
            return out
        }
    }

    /// A checked row as the model reads it (the input encoded by `prepare` when this model prepared it).
    func scoreRow(_ r: TrainingRow) throws -> ScoreRow {
        guard r.weights.count == r.output.count else { throw AgentError.badInput("\(r.output.count) answer tokens but \(r.weights.count) weights") }
        try checkAnswer(r.output)
        let row: ScoreRow
        if let e = r.encoded, e.owner === self {
            row = ScoreRow(patches: e.visual, promptIDs: e.tokens, output: r.output, weights: r.weights)
        } else {
            row = ScoreRow(patches: try patches(r.input.image), promptIDs: promptIDs(r.input.prompt), output: r.output, weights: r.weights)
        }
        try checkLength(row)
        return row
    }

    func checkAnswer(_ output: [Int32]) throws {
        guard !output.isEmpty else { throw AgentError.badInput("nothing to score: the output has no tokens") }
        guard output.allSatisfy({ $0 >= 0 && Int($0) < tokenizer.vocabSize }) else { throw AgentError.badInput("token id outside the vocabulary") }
    }

    func checkLength(_ r: ScoreRow) throws {
        let n = config.patchCount + r.promptIDs.count + r.output.count
        guard n <= contextLength else {
            throw AgentError.badInput("prompt and output are \(n) tokens; the model reads at most \(contextLength)")
        }
    }

    /// Differentiable scores of a batch: Σ wₖ·log π_T(oₖ | prefix) per row (B), the value per row (B), and the
    /// per-token tempered log-probs and entropies (no gradient) for reporting.
    func score(_ rows: [ScoreRow], temperature: Float = 1) -> (weighted: Tensor<Float>, value: Tensor<Float>, tokenLogProbs: [[Float]], entropies: [[Float]]) {
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
        // e = exp(z − max), eight lanes at a time; sums in Double
        let e = UnsafeMutablePointer<Float>.allocate(capacity: v)
        defer { e.deallocate() }
        for i in 0..<v { e[i] = z[i] - mx }
        SIMDMath.exp(e, e, v)
        var s: Double = 0, sz: Double = 0
        for i in 0..<v { let ei = Double(e[i]); s += ei; sz += ei * Double(z[i] - mx) }
        let lse = Double(mx) + Foundation.log(s)
        // H = lse − E[z]
        let entropy = Float(lse - (sz / s + Double(mx)))
        return (Float(Double(z[target]) - lse), max(0, entropy))
    }

    /// Where the thought ends and the action begins in an answer (EOS belongs to the action).
    public func spans(of output: [Int32]) -> OutputSpans {
        let text = tokenizer.decode(output)
        return OutputSpans.locate(text: text, byteOffsets: tokenizer.byteOffsets(output))
    }

    // MARK: evaluate

    public func evaluate(_ input: AgentInput, outputs: [[Int32]], lambda: Float, temperature: Float) throws -> [PolicyEvaluation] {
        guard !outputs.isEmpty else { return [] }
        for o in outputs { try checkAnswer(o) }
        let pt = try patches(input.image), prompt = promptIDs(input.prompt)
        let rows = outputs.map { ScoreRow(patches: pt, promptIDs: prompt, output: $0, weights: Array(repeating: 1, count: $0.count)) }
        for r in rows { try checkLength(r) }
        // one forward for all rows: right padding leaves each row's real positions unchanged (causal attention)
        let s = Autograd.noGrad { score(rows, temperature: temperature) }
        let values = s.value.scalars
        return outputs.indices.map { k in
            let lps = s.tokenLogProbs[k]
            let sp = spans(of: outputs[k])
            // Σ in fp32 over exactly the given tokens
            let thought = lps[..<sp.actionTokenStart].reduce(0, +), action = lps[sp.actionTokenStart...].reduce(0, +)
            return PolicyEvaluation(tokenLogProbs: lps, spans: sp, thoughtLogProb: thought, actionLogProb: action,
                                    logProb: lambda * thought + action, value: values[k], tokenEntropies: s.entropies[k])
        }
    }
}
