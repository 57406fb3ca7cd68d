import Foundation
import Testing
@testable import Tensors

@Suite struct ModelTests {
    @Test func mlpOverfitsXOR() {
        var rng = TensorRNG(seed: 1)
        let l1 = Linear(2, 16, rng: &rng), l2 = Linear(16, 2, rng: &rng)
        let params = l1.namedParameters().map { ("l1." + $0.0, $0.1) } + l2.namedParameters().map { ("l2." + $0.0, $0.1) }
        let opt = Adam.adamW(params, learningRate: 0.03, weightDecay: 0)
        let x = Tensor<Float>(shape: [4, 2], scalars: [0, 0, 0, 1, 1, 0, 1, 1])
        let y = [0, 1, 1, 0]
        var loss: Float = 0
        for _ in 0..<300 {
            for p in params { p.1.zeroGrad() }
            let l = l2(l1(x).tanh()).crossEntropy(targets: y)
            l.backward(); opt.step()
            loss = l.item()
        }
        #expect(loss < 0.01, "final loss \(loss)")
    }

    @Test(arguments: [TransformerConfig.Norm.layer, .rms])
    func twoLayerTransformerOverfitsToyData(norm: TransformerConfig.Norm) {
        // Reverse 4 fixed sequences of 6 tokens: needs attention across positions.
        var cfg = TransformerConfig(vocabSize: 10, dModel: 32, layers: 2, heads: 4, kvHeads: norm == .rms ? 2 : 4, maxSequence: 12)
        cfg.norm = norm
        if norm == .rms { cfg.activation = .swiglu; cfg.positions = .rope; cfg.bias = false; cfg.tieEmbeddings = true }
        let m = DecoderTransformer(cfg, seed: 7)
        var rng = TensorRNG(seed: 3)
        var ids: [Int] = [], targets: [Int] = []
        for _ in 0..<4 {
            let s = (0..<5).map { _ in Int(rng.next() % 8) + 2 }
            let seq = [1] + s + s.reversed()  // BOS, sequence, reversed
            ids += seq.dropLast()
            targets += (0..<10).map { $0 < 5 ? -100 : seq[$0 + 1] }
        }
        let opt = Adam.adamW(m.namedParameters(), learningRate: 3e-3, weightDecay: 0)
        var loss: Float = 0
        for _ in 0..<250 {
            m.zeroGrad()
            let l = m(ids, batch: 4).crossEntropy(targets: targets)
            l.backward(); opt.step()
            loss = l.item()
        }
        #expect(loss < 0.05, "final loss \(loss)")
    }

    @Test func kvCacheMatchesFullForward() {
        var cfg = TransformerConfig(vocabSize: 13, dModel: 16, layers: 2, heads: 4, kvHeads: 2, maxSequence: 16)
        cfg.positions = .rope; cfg.norm = .rms; cfg.activation = .swiglu
        let m = DecoderTransformer(cfg, seed: 9)
        let ids = [1, 5, 7, 2, 9, 4]
        let full = Autograd.noGrad { m(ids, batch: 1) }.scalars
        let cache = KVCache(layers: 2)
        var incremental: [Float] = Autograd.noGrad { m(Array(ids.prefix(3)), batch: 1, cache: cache) }.scalars
        for t in ids.dropFirst(3) { incremental += Autograd.noGrad { m([t], batch: 1, cache: cache) }.scalars }
        #expect(cache.length == 6)
        for (a, b) in zip(full, incremental) { #expect(abs(a - b) < 1e-4) }
    }

    /// A prompt filling a cache with `lastOnly`: the last position's hidden state is the full forward's, with left
    /// padding masked per row, and the positions after it continue exactly as after a full prompt.
    @Test func lastOnlyPrefillMatchesTheFullForward() {
        var cfg = TransformerConfig(vocabSize: 13, dModel: 16, layers: 3, heads: 4, kvHeads: 2, maxSequence: 16)
        cfg.positions = .rope; cfg.norm = .rms; cfg.activation = .swiglu
        let m = DecoderTransformer(cfg, seed: 5)
        let ids = [1, 5, 7, 2, 9, 4, 3, 8, 0, 6, 11, 12]  // (B=2, T=6)
        let pads = [0, 2]
        func run(lastOnly: Bool) -> (last: [Float], next: [Float]) {
            Autograd.noGrad {
                let cache = KVCache(layers: 3)
                let h = m.hidden(m.embedTokens(ids, batch: 2), cache: cache, keyStart: pads, lastOnly: lastOnly)  // (2, T or 1, C)
                let t = h.shape[1]
                let last = h.slice(axis: 1, t - 1, t).contiguous().scalars
                let next = m.hidden(m.embedTokens([10, 3], batch: 2, offset: 6), cache: cache, keyStart: pads).scalars
                return (last, next)
            }
        }
        let full = run(lastOnly: false), pruned = run(lastOnly: true)
        #expect(full.last.count == pruned.last.count && full.next.count == pruned.next.count)
        for (a, b) in zip(full.last, pruned.last) { #expect(abs(a - b) < 1e-5) }
        for (a, b) in zip(full.next, pruned.next) { #expect(abs(a - b) < 1e-5) }
    }

    /// Rows dropped from a cache (finished generations) leave the others as they were: after `keepRows`, the kept
    /// rows' next steps equal those of the full batch, past a growth of the cache's capacity too.
    @Test func keepRowsLeavesTheKeptRowsAsTheyWere() {
        var cfg = TransformerConfig(vocabSize: 13, dModel: 16, layers: 2, heads: 4, kvHeads: 2, maxSequence: 32)
        cfg.positions = .rope; cfg.norm = .rms; cfg.activation = .swiglu
        let m = DecoderTransformer(cfg, seed: 8)
        let prompt = [1, 5, 7, 2, 9, 4, 3, 8, 0, 6, 11, 12, 2, 2, 5, 7]  // (B=4, T=4)
        let pads = [0, 1, 0, 2]
        let steps: [[Int]] = [[3, 4, 5, 6], [7, 8, 9, 10], [11, 12, 1, 2], [5, 5, 5, 5], [1, 2, 3, 4]]
        Autograd.noGrad {
            let full = KVCache(layers: 2, reserve: 6), part = KVCache(layers: 2, reserve: 6)
            _ = m.hidden(m.embedTokens(prompt, batch: 4), cache: full, keyStart: pads)
            _ = m.hidden(m.embedTokens(prompt, batch: 4), cache: part, keyStart: pads)
            let keep = [1, 3]
            part.keepRows(keep)
            for (k, ids) in steps.enumerated() {
                let a = m.hidden(m.embedTokens(ids, batch: 4, offset: 4 + k), cache: full, keyStart: pads)  // (4, 1, C)
                let b = m.hidden(m.embedTokens(keep.map { ids[$0] }, batch: 2, offset: 4 + k), cache: part,
                                 keyStart: keep.map { pads[$0] })  // (2, 1, C)
                for (j, r) in keep.enumerated() {
                    let x = a.slice(axis: 0, r, r + 1).contiguous().scalars, y = b.slice(axis: 0, j, j + 1).contiguous().scalars
                    #expect(x == y, "row \(r) at step \(k)")
                }
            }
            #expect(part.length == 9 && full.length == 9)
        }
    }
}

