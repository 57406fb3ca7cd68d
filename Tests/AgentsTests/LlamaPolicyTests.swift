import Foundation
import Testing
import Support
import Tensors
@testable import Agents

/// SmolLM2-135M-Instruct behind the policy interface: batched generation agrees with one row at a time and with
/// the plain greedy decoder, `evaluate` re-scores what `generate` reported, checkpoints round-trip.
@Suite(.serialized, .enabled(if: SmolLM2.present, "models/SmolLM2-135M-Instruct.Q4_1.gguf is absent: run `make model`"))
struct LlamaPolicyTests {
    static let policy: LlamaPolicy? = try? LlamaPolicy(path: SmolLM2.path)
    static let prompts = [
        "You are observing four cards: '3', '8', 'K', '2'. Write a formula that evaluates to 24. Answer in JSON with keys thoughts and action.",
        "What is the capital of France? Answer in one word.",
        "Count from one to five.",
    ]
    func input(_ p: String) -> AgentInput { AgentInput(image: RGBImage(width: 0, height: 0), prompt: p) }

    @Test func greedyMatchesThePlainDecoderAndBatchesAgree() throws {
        let m = try #require(Self.policy)
        var g = GenerationConfig(maxNewTokens: 24, greedy: true)
        g.temperature = 1
        let batch = try m.generate(Self.prompts.map(input), config: g)
        #expect(batch.count == 3)
        for (k, p) in Self.prompts.enumerated() {
            let one = try m.generate([input(p)], config: g)[0]
            #expect(one.tokenIDs == batch[k].tokenIDs, "row \(k): batch of 3 and batch of 1 disagree")
            let plain = m.llama.greedy(m.promptIDs(p), maxTokens: 24).map { Int32($0) }
            #expect(plain == one.tokenIDs, "row \(k): policy and plain greedy decoder disagree")
            for (a, b) in zip(one.tokenLogProbs, batch[k].tokenLogProbs) { #expect(abs(a - b) < 1e-3) }
        }
        #expect(batch[1].text.contains("Paris"))
        #expect(!m.readsImages && m.inputTokenCount(input(Self.prompts[1])).visual == 0)
    }

    @Test func evaluateRescoresGeneratedTokens() throws {
        let m = try #require(Self.policy)
        let g = GenerationConfig(temperature: 0.7, maxNewTokens: 20, seed: 5)
        let out = try m.generate([input(Self.prompts[0])], config: g)[0]
        let ev = try m.evaluate(input(Self.prompts[0]), outputTokens: out.tokenIDs, lambda: 0.5, temperature: 0.7)
        #expect(ev.tokenLogProbs.count == out.tokenIDs.count)
        for (a, b) in zip(ev.tokenLogProbs, out.tokenLogProbs) { #expect(abs(a - b) < 2e-3, "\(a) vs \(b)") }
        #expect(abs(ev.logProb - (0.5 * ev.thoughtLogProb + ev.actionLogProb)) < 1e-4)
        // the same seed draws the same answer; another seed (almost surely) another
        let again = try m.generate([input(Self.prompts[0])], config: g)[0]
        #expect(again.tokenIDs == out.tokenIDs)
        // two outputs scored in one pass equal one at a time
        let other = m.encode("{\"thoughts\": \"3 * 8 = 24\", \"action\": \"3\"}") + [m.endOfText]
        let both = try m.evaluate(input(Self.prompts[0]), outputs: [out.tokenIDs, other], lambda: 0.5, temperature: 1)
        let single = try m.evaluate(input(Self.prompts[0]), outputTokens: other, lambda: 0.5, temperature: 1)
        for (a, b) in zip(both[1].tokenLogProbs, single.tokenLogProbs) { #expect(abs(a - b) < 2e-3) }
        #expect(single.spans.hasAction && single.spans.actionTokenStart < other.count)
        #expect(m.decode(Array(other[single.spans.actionTokenStart...].dropLast())).hasPrefix("\"action") || m.decode(Array(other[single.spans.actionTokenStart...])).contains("action"))
    }

    @Test func forcedPrefixContinuesAnEditedThought() throws {
        let m = try #require(Self.policy)
        let prefix = m.encode("{\"thoughts\": \"The cards are")
        let out = try m.generate([input(Self.prompts[0])], prefixes: [prefix], config: GenerationConfig(maxNewTokens: 10, greedy: true))[0]
        #expect(Array(out.tokenIDs.prefix(prefix.count)) == prefix)
        #expect(out.text.hasPrefix("{\"thoughts\": \"The cards are"))
        #expect(out.tokenLogProbs.count == out.tokenIDs.count)
    }

    @Test func checkpointRoundTripsAndBadFilesFailInOneLine() throws {
        let m = try #require(Self.policy)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gtr-llama-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        m.valueHead.weight.pointer[3] = 0.25
        defer { m.valueHead.weight.pointer[3] = 0 }
        try m.save(to: dir)
        let back = try PolicyRegistry.load(from: dir)
        #expect(back.kind == LlamaPolicy.kind)
        let v1 = try m.value(input(Self.prompts[1])), v2 = try back.value(input(Self.prompts[1]))
        #expect(v1 != 0 && abs(v1 - v2) < 1e-5)
        // a .gguf path loads directly; a missing or damaged one is one line
        #expect(try PolicyRegistry.load(from: URL(fileURLWithPath: SmolLM2.path)).kind == LlamaPolicy.kind)
        let bad = dir.appendingPathComponent("bad.gguf")
        try Data("GGUF not really".utf8).write(to: bad)
        do { _ = try PolicyRegistry.load(from: bad); Issue.record("a damaged GGUF loaded") } catch let e as AgentError {
            #expect(!e.description.contains("\n"))
        }
        do { _ = try PolicyRegistry.load(from: dir.appendingPathComponent("none.gguf")); Issue.record("a missing GGUF loaded") } catch let e as AgentError {
            #expect(e.description.contains("does not exist"))
        }
    }

    @Test func contextIsChecked() throws {
        let m = try #require(Self.policy)
        let long = String(repeating: "card ", count: 3000)
        #expect(throws: AgentError.self) { _ = try m.generate([input(long)], config: GenerationConfig(maxNewTokens: 8)) }
    }
}
