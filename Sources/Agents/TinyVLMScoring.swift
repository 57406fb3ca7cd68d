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
        let p = config.patchCount, d = config.transformer.dModel
        let texts = rows.map { $0.promptIDs + $0.output.map(Int.init) }
        let (x, _) = embed(patches: rows.map(\.patches), texts: texts, leftPad: false)
        let t = x.shape[1], b = rows.count
        let h = decoder.hidden(x)  // (B, T, C)
        // value at <sep>: position P + promptLen − 1
        let sepPos = rows.map { p + $0.promptIDs.count - 1 }
        let hFlat = h.reshape([b * t, d])
        let index = (0..<b).flatMap { r in Array(repeating: r * t + sepPos[r], count: d) }
        let value = valueHead(hFlat.gather(axis: 0, index: index, shape: [b, d]))
        // Only the positions that predict an output token go through the head: output token k of row r sits at
        // P + promptLen + k and is predicted at sepPos[r] + k. The prompt's positions (three quarters of a Points24
        // row) never meet the (V × C) head, forward or backward.
        let counts = rows.map(\.output.count), n = counts.reduce(0, +)
        var answerIndex: [Int] = []
        answerIndex.reserveCapacity(n * d)
        var targets: [Int] = [], w: [Float] = []
        for r in 0..<b {
            for k in 0..<counts[r] { answerIndex += repeatElement(r * t + sepPos[r] + k, count: d) }
            targets += rows[r].output.map(Int.init); w += rows[r].weights.prefix(counts[r])
        }
        var logits = decoder.logits(hFlat.gather(axis: 0, index: answerIndex, shape: [n, d]))  // (N, V)
        if temperature != 1 { logits = logits * (1 / temperature) }
        // log π_T(oₖ | prefix) per answer position: (N, 1)
        let lp = logits.targetLogProbs(targets).reshape([n, 1])
        // Σₖ wₖ·log π per row: (B, N) weights of each row's own positions · (N, 1)
        var segment = [Float](repeating: 0, count: b * n)
        var start = 0
        for r in 0..<b {
            for k in 0..<counts[r] { segment[r * n + start + k] = w[start + k] }
            start += counts[r]
        }
        let weighted = Tensor<Float>(shape: [b, n], scalars: segment).matmul(lp).reshape([b])
        let (lps, ens) = TinyVLM.tokenStats(logits.detached(), rows: Array(0..<n), targets: targets.map(Int32.init))
        var tokenLPs: [[Float]] = [], ents: [[Float]] = []
        start = 0
        for r in 0..<b {
            tokenLPs.append(Array(lps[start..<(start + counts[r])])); ents.append(Array(ens[start..<(start + counts[r])]))
            start += counts[r]
        }
        return (weighted, value, tokenLPs, ents)
    }

    /// log-softmax of the target and entropy at the given rows of a (T, V) logit matrix (already tempered).
    static func tokenStats(_ logits: Tensor<Float>, rows: [Int], targets: [Int32]) -> ([Float], [Float]) {
        let x = logits.contiguous(), v = x.shape[1], n = rows.count
        // rows in parallel, each on its own (the bits do not depend on the thread count)
        let lps = UnsafeMutableBufferPointer<Float>.allocate(capacity: n), ents = UnsafeMutableBufferPointer<Float>.allocate(capacity: n)
        defer { lps.deallocate(); ents.deallocate() }
        Parallel.forEach(n, grain: 32) { range in
            for k in range { (lps[k], ents[k]) = logProbAndEntropy(x.pointer + rows[k] * v, v, target: Int(targets[k])) }
        }
        return (Array(lps), Array(ents))
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
