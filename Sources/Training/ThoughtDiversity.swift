import Foundation

/// Collapse diagnostics over a set of thoughts (GTR §7): distinct-n (distinct n-grams / all n-grams, pooled over
/// the set) and self-BLEU (bigram BLEU of each text against all the others, NLTK `sentence_bleu` with weights
/// (0.5, 0.5) and smoothing method 1, averaged; checked against NLTK by `scripts/selfbleu_golden.py`). Collapsed thoughts have low distinct-n and self-BLEU near 1.
public enum ThoughtDiversity {
    static func words(_ s: String) -> [String] { s.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" }).map(String.init) }

    public static func distinct(_ texts: [String], n: Int) -> Double {
        var all = 0
        var seen = Set<[String]>()
        for t in texts {
            let w = words(t)
            guard w.count >= n else { continue }
            for i in 0...(w.count - n) { seen.insert(Array(w[i..<(i + n)])); all += 1 }
        }
        return all == 0 ? 0 : Double(seen.count) / Double(all)
    }

    static func ngrams(_ w: [String], _ n: Int) -> [[String]: Int] {
        var c: [[String]: Int] = [:]
        if w.count >= n { for i in 0...(w.count - n) { c[Array(w[i..<(i + n)]), default: 0] += 1 } }
        return c
    }

    /// Mean bigram self-BLEU; 1 when there are fewer than two texts (as GTR-Turbo's metric). At most `limit`
    /// texts (evenly spaced) are compared, which keeps the O(N²) cost bounded.
    public static func selfBLEU(_ texts0: [String], limit: Int = 400) -> Double {
        let texts = texts0.count > limit ? stride(from: 0, to: texts0.count, by: max(1, texts0.count / limit)).map { texts0[$0] } : texts0
        guard texts.count >= 2 else { return 1 }
        let w = texts.map(words)
        let uni = w.map { ngrams($0, 1) }, bi = w.map { ngrams($0, 2) }
        var total = 0.0
        for i in w.indices {
            let hyp = w[i]
            guard !hyp.isEmpty else { continue }   // brevity penalty 0
            var ps: [Double] = []
            var unigramMatches = 0
            for (n, table) in [(1, uni), (2, bi)] {
                var clipped = 0, count = 0
                for (g, c) in table[i] {
                    var best = 0
                    for j in w.indices where j != i { best = max(best, table[j][g] ?? 0); if best >= c { break } }
                    clipped += min(c, best); count += c
                }
                if n == 1 { unigramMatches = clipped }
                // NLTK: denominator max(1, count); method1 turns a zero numerator into epsilon 0.1.
                ps.append((clipped == 0 ? 0.1 : Double(clipped)) / Double(max(1, count)))
            }
            // NLTK returns 0 when no unigram matches at all (before any smoothing).
            guard unigramMatches > 0 else { continue }
            // brevity penalty against the closest reference length
            let refLens = w.indices.filter { $0 != i }.map { w[$0].count }
            let closest = refLens.min { (abs($0 - hyp.count), $0) < (abs($1 - hyp.count), $1) }!
            let bp = hyp.count > closest ? 1 : exp(1 - Double(closest) / Double(hyp.count))
            total += bp * exp(0.5 * log(ps[0]) + 0.5 * log(ps[1]))
        }
        return total / Double(w.count)
    }
}
