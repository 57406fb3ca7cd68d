import Foundation
import Support
import Tensors

/// Draws one token from tempered logits with the behaviour-only filters of `GenerationConfig`.
enum Sampler {
    /// z: tempered logits (V). Returns the id and the log of the probability it was drawn with; nil when that
    /// distribution is the tempered softmax itself (greedy without a repetition penalty), whose log-prob the
    /// caller scores anyway.
    static func draw(_ z0: [Float], generated: [Int32], config g: GenerationConfig, rng: inout SeededRNG) -> (id: Int, behaviourLogProb: Float?) {
        var z = z0
        let v = z.count
        // CTRL / HF repetition penalty on tokens already generated: positive logits divided, negative multiplied
        if g.repetitionPenalty != 1 {
            for t in Set(generated) where Int(t) < v {
                let i = Int(t)
                z[i] = z[i] > 0 ? z[i] / g.repetitionPenalty : z[i] * g.repetitionPenalty
            }
        }
        var best = 0
        if g.greedy {
            for i in 1..<v where z[i] > z[best] { best = i }
            if g.repetitionPenalty == 1 { return (best, nil) }
        }
        var mx = -Float.infinity
        for x in z where x > mx { mx = x }
        // p = softmax(z): exponentials eight lanes at a time, normalised in Double
        var e = [Float](repeating: 0, count: v)
        for i in 0..<v { e[i] = z[i] - mx }
        e.withUnsafeMutableBufferPointer { SIMDMath.exp($0.baseAddress!, $0.baseAddress!, v) }
        var s = 0.0
        for i in 0..<v { s += Double(e[i]) }
        var p = [Double](repeating: 0, count: v)
        for i in 0..<v { p[i] = Double(e[i]) / s }
        if g.greedy { return (best, Float(Foundation.log(max(p[best], 1e-300)))) }
        // nucleus: the smallest set of most likely tokens whose mass reaches topP, renormalised
        if g.topP < 1 {
            let order = (0..<v).sorted { p[$0] > p[$1] || (p[$0] == p[$1] && $0 < $1) }
            var keep = 0, mass = 0.0
            while keep < v { mass += p[order[keep]]; keep += 1; if mass >= Double(g.topP) { break } }
            var q = [Double](repeating: 0, count: v)
            for k in 0..<keep { q[order[k]] = p[order[k]] / mass }
            p = q
        }
        let u = rng.unit()
        var acc = 0.0
        var pick = -1
        for i in 0..<v where p[i] > 0 {
            acc += p[i]
            pick = i
            if u < acc { break }
        }
        return (pick, Float(Foundation.log(p[pick])))
    }
}

/// The rows of one batched generation: each row samples with its own generator (seed + row·golden ratio), so
/// rows are drawn in parallel on the tensor pool and the draws are the same at any thread count.
final class SamplingRows: @unchecked Sendable {
    final class Row: @unchecked Sendable {
        var rng: SeededRNG
        var ids: [Int32] = [], lps: [Float] = [], blps: [Float] = [], ents: [Float] = []
        var done = false, next = 0
        /// The row's logits were not all finite (damaged weights): generation stops with an error.
        var nonFinite = false
        init(rng: SeededRNG) { self.rng = rng }
    }
    let rows: [Row]
    let config: GenerationConfig
    let eos: Int, idle: Int

    /// `idle`: the id fed for rows that are done (masked padding, never read back). `firstRow`: the batch position
    /// of row 0 when a batch is generated in groups, so each row draws from the same stream as in the whole batch.
    init(count: Int, config: GenerationConfig, eos: Int, idle: Int, firstRow: Int = 0) {
        rows = (firstRow..<(firstRow + count)).map { Row(rng: SeededRNG(seed: config.seed &+ UInt64($0) &* 0x9E37_79B9_7F4A_7C15)) }
        self.config = config; self.eos = eos; self.idle = idle
    }

    var allDone: Bool { rows.allSatisfy(\.done) }
    var next: [Int] { rows.map(\.next) }

    /// Draws each unfinished row's next token from its logits (B, V); the scored log-prob and entropy are the
    /// tempered logits' (no penalty, no top-p). `live`: the rows that logits row i belongs to (all by default;
    /// generation drops finished rows from its batch).
    func step(_ logits: Tensor<Float>, vocab v: Int, live: [Int]? = nil) throws {
        let temp = config.greedy && config.temperature <= 0 ? 1 : config.temperature
        let live = live ?? Array(rows.indices)
        OpProfile.region("generate: sampling") {
            Parallel.run(chunks: live.count, work: live.count * v * 64) { [self] i in  // ~64 operations per logit (two softmax passes)
                let row = rows[live[i]]
                row.next = idle
                if row.done { return }
                let lr = logits.pointer + i * v
                var z = [Float](repeating: 0, count: v)
                for i in 0..<v { z[i] = lr[i] / temp }
                guard z.allSatisfy({ $0.isFinite }) else { row.nonFinite = true; row.done = true; return }
                let tok = Sampler.draw(z, generated: row.ids, config: config, rng: &row.rng)
                let (lp, en) = z.withUnsafeBufferPointer { TinyVLM.logProbAndEntropy($0.baseAddress!, v, target: tok.id) }
                row.ids.append(Int32(tok.id)); row.lps.append(lp); row.blps.append(tok.behaviourLogProb ?? lp); row.ents.append(en)
                row.next = tok.id
                if tok.id == eos { row.done = true }
            }
        }
        if rows.contains(where: { $0.nonFinite }) {
            throw AgentError.badInput("the model's logits are not finite (NaN or ∞): its weights or inputs are damaged")
        }
    }

    /// One output per row, text decoded without the end token.
    func outputs(values: [Float], decode: ([Int32]) -> String, spans: ([Int32]) -> OutputSpans) -> [PolicyOutput] {
        rows.enumerated().map { r, row in
            let finished = row.ids.last == Int32(eos)
            let body = finished ? Array(row.ids.dropLast()) : row.ids
            return PolicyOutput(text: decode(body), tokenIDs: row.ids, tokenLogProbs: row.lps, behaviourLogProbs: row.blps,
                                tokenEntropies: row.ents, spans: spans(row.ids), value: values[r], finished: finished)
        }
    }
}
