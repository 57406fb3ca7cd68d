import Environments
import Foundation
import Support
import Tensors
import Testing
import Training
@testable import Agents

/// A small random model over a tokenizer trained on a few expert answers, and inputs from real envs.
func tinyModel(seed: UInt64 = 3, layers: Int = 2) throws -> TinyVLM {
    var rng = SeededRNG(seed: 1)
    var corpus: [String] = []
    for name in Expert.environments {
        let e = try EnvironmentRegistry.make(name)
        try e.reset(seed: 5)
        corpus.append(e.prompt(thoughts: true))
        corpus.append(try Expert.answer(e, rng: &rng).text)
    }
    let tok = BPETokenizer.train(corpus: corpus, mergeCount: 150)
    var c = TinyVLMConfig.small(vocabSize: tok.vocabSize)
    c.transformer.dModel = 32; c.transformer.heads = 2; c.transformer.kvHeads = 2; c.transformer.layers = layers
    c.transformer.ffnHidden = 64; c.valueHidden = 16
    return try TinyVLM(config: c, tokenizer: tok, seed: seed)
}

func inputs(_ name: String, seeds: [UInt64]) throws -> [AgentInput] {
    try seeds.map { s in
        let e = try EnvironmentRegistry.make(name)
        try e.reset(seed: s)
        if s % 2 == 1, let p = e as? Points24 { _ = try p.step("1") }  // longer prompt: formula "1"
        return AgentInput.from(e)
    }
}

@Suite struct TinyVLMTests {
    @Test func seededGenerationIsDeterministic() throws {
        let m = try tinyModel()
        let x = try inputs("points24", seeds: [1])
        let g = GenerationConfig(temperature: 1, maxNewTokens: 24, seed: 42)
        let a = try m.generate(x, config: g)[0], b = try m.generate(x, config: g)[0]
        #expect(a.tokenIDs == b.tokenIDs && a.tokenLogProbs == b.tokenLogProbs && a.text == b.text)
        var g2 = g; g2.seed = 43
        let c = try m.generate(x, config: g2)[0]
        #expect(c.tokenIDs != a.tokenIDs)  // a random model at T=1 over ~500 ids: different seeds diverge
        #expect(a.tokenIDs.count == 24 || a.finished)
    }

    @Test(arguments: [Float(1), 0.5])
    func evaluateEqualsSumOfGenerationLogProbs(temperature: Float) throws {
        let m = try tinyModel()
        for x in try inputs("points24", seeds: [2, 3]) + inputs("blackjack", seeds: [4]) {
            let o = try m.generate([x], config: GenerationConfig(temperature: temperature, maxNewTokens: 30, seed: 7))[0]
            let ev = try m.evaluate(x, outputTokens: o.tokenIDs, lambda: 1, temperature: temperature)
            #expect(ev.tokenLogProbs.count == o.tokenLogProbs.count)
            for (a, b) in zip(ev.tokenLogProbs, o.tokenLogProbs) { #expect(abs(a - b) < 1e-3) }
            #expect(abs(ev.logProb - o.tokenLogProbs.reduce(0, +)) < 1e-2)
            #expect(abs(ev.value - o.value) < 1e-4)
        }
    }

    @Test func batchedGenerationMatchesOneByOne() throws {
        let m = try tinyModel()
        // prompts of different lengths: left padding must not change any row
        let xs = try inputs("points24", seeds: [10, 11, 12]) + inputs("numberline", seeds: [13])
        let g = GenerationConfig(temperature: 0.7, maxNewTokens: 20, seed: 5)
        let batched = try m.generate(xs, config: g)
        for (i, x) in xs.enumerated() {
            var gi = g; gi.seed = g.seed &+ UInt64(i) &* 0x9E37_79B9_7F4A_7C15
            let single = try m.generate([x], config: gi)[0]
            #expect(single.tokenIDs == batched[i].tokenIDs)
            for (a, b) in zip(single.tokenLogProbs, batched[i].tokenLogProbs) { #expect(abs(a - b) < 1e-3) }
            #expect(abs(single.value - batched[i].value) < 1e-4)
        }
    }

    /// Rows that finish early leave the batch (the KV cache drops them): every row still gets what it gets
    /// alone. The default agent answers 8 Points24 states greedily, with answers of different lengths.
    @Test func rowsThatFinishEarlyLeaveTheBatchAndChangeNoRow() throws {
        let m = try TinyVLM.load(from: try #require(DefaultAgent.shipped, "the shipped default agent is part of the source tree"))
        let xs = try inputs("points24", seeds: Array(0..<8))
        let g = GenerationConfig(temperature: 0, maxNewTokens: 80, greedy: true)
        let batched = try m.generate(xs, config: g)
        #expect(Set(batched.map(\.tokenIDs.count)).count >= 3, "rows end at different steps, so they leave the batch in turn")
        #expect(batched.filter(\.finished).count >= 3)
        for (i, x) in xs.enumerated() {
            let single = try m.generate([x], config: g)[0]
            #expect(single.tokenIDs == batched[i].tokenIDs, "row \(i)")
            #expect(single.tokenLogProbs.count == batched[i].tokenLogProbs.count)
            for (a, b) in zip(single.tokenLogProbs, batched[i].tokenLogProbs) { #expect(abs(a - b) < 1e-4) }
            #expect(abs(single.value - batched[i].value) < 1e-4)
        }
    }

    /// With two or more threads a batch is generated in groups of prompt-pass chunks, one group per thread
    /// (`TinyVLM.generationPlan`): every row keeps its tokens, log-probs, entropies, value and sampling stream, bit
    /// for bit, against one thread.
    @Test func rowGroupsOnThreadsChangeNoBit() throws {
        func plan(_ rows: Int, _ threads: Int, _ inv: Int = 64) -> [[Range<Int>]] { TinyVLM.generationPlan(rows: rows, threads: threads, invariantRows: inv) }
        #expect(plan(8, 2) == [[0..<4], [4..<8]])
        #expect(plan(8, 1) == [[0..<4, 4..<8]])
        #expect(plan(6, 2) == [[0..<4], [4..<6]])
        #expect(plan(4, 2) == [[0..<4]])
        #expect(plan(1, 4) == [[0..<1]])
        #expect(plan(8, 2, 0) == [[0..<4, 4..<8]], "without row-invariant products a batch stays whole")
        // at most 64 rows (16 chunks) a group, even on one thread: 100 rows → 2 groups of 13 and 12 chunks
        #expect(plan(100, 1).map(\.count) == [12, 13])
        #expect(plan(100, 1).joined().map(\.count).reduce(0, +) == 100)
        #expect(plan(100, 3).count == 3)
        let m = try TinyVLM.load(from: try #require(DefaultAgent.shipped, "the shipped default agent is part of the source tree"))
        let xs = try inputs("points24", seeds: Array(0..<8))
        defer { Parallel.setThreads(Parallel.configuredThreads) }
        for g in [GenerationConfig(temperature: 1, maxNewTokens: 48, seed: 11), GenerationConfig(temperature: 0, maxNewTokens: 48, greedy: true)] {
            var runs: [[PolicyOutput]] = []
            for threads in [1, 2] {
                Parallel.setThreads(threads)
                runs.append(try m.generate(xs, config: g))
            }
            for (a, b) in zip(runs[0], runs[1]) {
                #expect(a.tokenIDs == b.tokenIDs)
                #expect(a.tokenLogProbs.map(\.bitPattern) == b.tokenLogProbs.map(\.bitPattern))
                #expect(a.tokenEntropies.map(\.bitPattern) == b.tokenEntropies.map(\.bitPattern))
                #expect(a.value.bitPattern == b.value.bitPattern)
            }
            // sampled rows differ from one another: each draws from a stream of its own
            if !g.greedy { #expect(Set(runs[0].map(\.tokenIDs)).count >= 4) }
        }
    }

    @Test func lambdaSplitWithAndWithoutAnAction() throws {
        let m = try tinyModel()
        let x = try inputs("points24", seeds: [1])[0]
        let withAction = m.encode("{\"cards\": [1, 2, 3, 4], \"formula\": \"\", \"thoughts\": \"go\", \"action\": \"4\"}") + [m.endOfText]
        let ev1 = try m.evaluate(x, outputTokens: withAction, lambda: 1, temperature: 1)
        let ev05 = try m.evaluate(x, outputTokens: withAction, lambda: 0.5, temperature: 1)
        let k = ev1.spans.actionTokenStart
        #expect(ev1.spans.hasAction && k > 0 && k < withAction.count)
        // the token holding the quote of the last "action": starts the action part (it may carry `", ` before it)
        #expect(m.decode(Array(withAction[k...])).hasSuffix("\"action\": \"4\"}"))
        #expect(!m.decode(Array(withAction[..<k])).contains("\"action"))
        #expect(abs(ev1.thoughtLogProb - ev1.tokenLogProbs[..<k].reduce(0, +)) < 1e-4)
        #expect(abs(ev1.actionLogProb - ev1.tokenLogProbs[k...].reduce(0, +)) < 1e-4)
        #expect(abs(ev05.logProb - (0.5 * ev1.thoughtLogProb + ev1.actionLogProb)) < 1e-3)
        // no "action": → everything is thought, the action part is empty
        let noAction = m.encode("{\"cards\": [1, 2, 3, 4], \"thoughts\": \"lost\"}")
        let ev2 = try m.evaluate(x, outputTokens: noAction, lambda: 0.5, temperature: 1)
        #expect(!ev2.spans.hasAction && ev2.actionLogProb == 0)
        #expect(abs(ev2.logProb - 0.5 * ev2.tokenLogProbs.reduce(0, +)) < 1e-3)
    }

    @Test func topPAndPenaltyOnlyChangeTheBehaviourLogProbs() throws {
        let m = try tinyModel()
        let x = try inputs("points24", seeds: [1])
        let o = try m.generate(x, config: GenerationConfig(temperature: 1, topP: 0.5, repetitionPenalty: 1.3, maxNewTokens: 20, seed: 1))[0]
        let ev = try m.evaluate(x[0], outputTokens: o.tokenIDs, lambda: 1, temperature: 1)
        for (a, b) in zip(ev.tokenLogProbs, o.tokenLogProbs) { #expect(abs(a - b) < 1e-3) }
        #expect(o.behaviourLogProbs != o.tokenLogProbs)
    }

    @Test func checkpointRoundTripAndBadFiles() throws {
        let m = try tinyModel()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gtr-ckpt-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        m.training = ["command": "test"]
        try m.save(to: dir)
        let n = try TinyVLM.load(from: dir)
        #expect(n.training["command"] == "test")
        let x = try inputs("ezpoints", seeds: [3])
        let g = GenerationConfig(temperature: 1, maxNewTokens: 16, seed: 9)
        #expect(try m.generate(x, config: g)[0].tokenIDs == n.generate(x, config: g)[0].tokenIDs)
        // a missing directory, a broken config and truncated weights each give one clear error
        #expect(throws: AgentError.self) { try TinyVLM.load(from: dir.appendingPathComponent("nope")) }
        let w = dir.appendingPathComponent("model.safetensors")
        let bytes = try Data(contentsOf: w)
        try bytes.prefix(bytes.count / 2).write(to: w)
        #expect(throws: AgentError.self) { try TinyVLM.load(from: dir) }
        try Data("{\"kind\": \"tiny-vlm\"}".utf8).write(to: dir.appendingPathComponent("config.json"))
        #expect(throws: AgentError.self) { try TinyVLM.load(from: dir) }
        #expect(throws: AgentError.self) { _ = try m.generate([AgentInput(image: RGBImage(width: 10, height: 10), prompt: "x")], config: g) }
    }
}
