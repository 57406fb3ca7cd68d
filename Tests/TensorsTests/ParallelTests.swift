import Foundation
import Synchronization
import Testing
@testable import Tensors

/// The worker pool and the determinism rule: a kernel's bits never depend on the thread count.
@Suite(.serialized) struct ParallelTests {
    final class Hits: @unchecked Sendable {
        let counts: UnsafeMutablePointer<Atomic<Int>>
        let n: Int
        init(_ n: Int) {
            self.n = n
            counts = .allocate(capacity: n)
            for i in 0..<n { (counts + i).initialize(to: Atomic(0)) }
        }
        deinit { counts.deinitialize(count: n); counts.deallocate() }
    }

    @Test func everyChunkRunsExactlyOnce() {
        defer { Parallel.setThreads(Parallel.configuredThreads) }
        for threads in [2, 3, 4] {
            Parallel.setThreads(threads)
            for chunks in [2, 3, 7, 64, 1000] {
                let h = Hits(chunks)
                for _ in 0..<50 { Parallel.pool.run(chunks: chunks) { i in h.counts[i].add(1, ordering: .relaxed) } }
                #expect((0..<chunks).allSatisfy { h.counts[$0].load(ordering: .relaxed) == 50 }, "\(threads) threads, \(chunks) chunks")
            }
        }
    }

    /// `map` returns every chunk's result in chunk order, and the error of the first chunk that threw.
    @Test func mapKeepsOrderAndTheFirstError() throws {
        struct Boom: Error, Equatable { let chunk: Int }
        defer { Parallel.setThreads(Parallel.configuredThreads) }
        for threads in [1, 2, 3] {
            Parallel.setThreads(threads)
            for count in [0, 1, 2, 5, 64] {
                #expect(try Parallel.pool.map(count) { $0 * $0 } == (0..<count).map { $0 * $0 })
            }
            #expect(throws: Boom(chunk: 3)) { try Parallel.pool.map(8) { i -> Int in if i >= 3 { throw Boom(chunk: i) }; return i } }
        }
    }

    @Test func nestedAndConcurrentDispatchRunInline() async {
        defer { Parallel.setThreads(Parallel.configuredThreads) }
        Parallel.setThreads(2)
        let h = Hits(16)
        // a chunk that dispatches again: the pool is busy, so the inner job runs on the calling thread
        Parallel.pool.run(chunks: 4) { i in Parallel.pool.run(chunks: 4) { j in h.counts[i * 4 + j].add(1, ordering: .relaxed) } }
        #expect((0..<16).allSatisfy { h.counts[$0].load(ordering: .relaxed) == 1 })
        // two threads dispatching at once
        let g = Hits(2000)
        await withTaskGroup(of: Void.self) { group in
            for t in 0..<4 {
                group.addTask { for k in 0..<50 { Parallel.pool.run(chunks: 10) { c in g.counts[t * 500 + k * 10 + c].add(1, ordering: .relaxed) } } }
            }
        }
        #expect((0..<2000).allSatisfy { g.counts[$0].load(ordering: .relaxed) == 1 })
    }

    /// Three AdamW steps of a transformer big enough that every kernel splits (GEMMs above the threshold, several
    /// causal attention blocks, elementwise tensors of many chunks): losses and weights must be the same bits at
    /// 1, 2 and 3 threads.
    @Test(arguments: [TransformerConfig.Norm.layer, .rms])
    func trainingIsBitwiseIdenticalAcrossThreadCounts(norm: TransformerConfig.Norm) {
        defer { Parallel.setThreads(Parallel.configuredThreads) }
        var cfg = TransformerConfig(vocabSize: 50, dModel: 64, layers: 2, heads: 4, kvHeads: norm == .rms ? 2 : 4, maxSequence: 160)
        cfg.norm = norm
        if norm == .rms { cfg.activation = .swiglu; cfg.positions = .rope; cfg.bias = false; cfg.tieEmbeddings = true }
        let b = 3, t = 150
        var rng = TensorRNG(seed: 11)
        let ids = (0..<(b * t)).map { _ in Int(rng.next() % 50) }
        let targets = (0..<(b * t)).map { i in i % 7 == 0 ? -100 : Int(rng.next() % 50) }
        func run(threads: Int) -> (losses: [UInt32], weights: [UInt32]) {
            Parallel.setThreads(threads)
            let m = DecoderTransformer(cfg, seed: 5)
            let opt = Adam.adamW(m.namedParameters(), learningRate: 1e-3)
            var losses: [UInt32] = []
            for _ in 0..<3 {
                m.zeroGrad()
                let l = m(ids, batch: b).crossEntropy(targets: targets)
                l.backward(); opt.step()
                losses.append(l.item().bitPattern)
            }
            return (losses, m.parameters.flatMap { $0.scalars.map(\.bitPattern) })
        }
        let one = run(threads: 1)
        for threads in [2, 3] {
            let r = run(threads: threads)
            #expect(r.losses == one.losses, "\(threads) threads: losses differ")
            #expect(r.weights == one.weights, "\(threads) threads: weights differ after 3 steps")
        }
    }
}
