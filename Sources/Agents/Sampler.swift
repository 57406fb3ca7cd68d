import Foundation
import Support

/// Draws one token from tempered logits with the behaviour-only filters of `GenerationConfig`.
enum Sampler {
    /// z: tempered logits (V). Returns the id and log of the probability it was drawn with.
    static func draw(_ z0: [Float], generated: [Int32], config g: GenerationConfig, rng: inout SeededRNG) -> (id: Int, behaviourLogProb: Float) {
        var z = z0
        let v = z.count
        // CTRL / HF repetition penalty on tokens already generated: positive logits divided, negative multiplied
        if g.repetitionPenalty != 1 {
            for t in Set(generated) where Int(t) < v {
                let i = Int(t)
                z[i] = z[i] > 0 ? z[i] / g.repetitionPenalty : z[i] * g.repetitionPenalty
            }
        }
        var mx = -Float.infinity
        for x in z where x > mx { mx = x }
        var p = [Double](repeating: 0, count: v)
        var s = 0.0
        for i in 0..<v { p[i] = Foundation.exp(Double(z[i] - mx)); s += p[i] }
        for i in 0..<v { p[i] /= s }
        if g.greedy {
            var best = 0
            for i in 1..<v where z[i] > z[best] { best = i }
            return (best, Float(Foundation.log(max(p[best], 1e-300))))
        }
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
