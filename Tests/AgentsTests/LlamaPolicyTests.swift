import Foundation
import Testing
import Support
import Tensors
@testable import Agents

/// SmolLM2-135M-Instruct behind the policy interface: batched generation agrees with one row at a time and with
/// the plain greedy decoder, `evaluate` re-scores what `generate` reported, checkpoints round-trip. The quantised
/// kernels round each activation block to 8 bits (as llama.cpp), so a left-padded cached batch and a full forward
/// can land one rounding step apart: log-probs are compared to 0.3 nats, tokens exactly (measured: up to 0.18).
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
            for (a, b) in zip(one.tokenLogProbs, batch[k].tokenLogProbs) { #expect(abs(a - b) < 0.3) }
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
        // at T 0.7 a rounding step in the logits weighs 1/0.7 as much: bounded per token, small on average
        let gaps = zip(ev.tokenLogProbs, out.tokenLogProbs).map { abs($0 - $1) }
        let meanGap = gaps.reduce(0, +) / Float(gaps.count)
        print("LlamaPolicy evaluate vs generate: mean |Δ log p| \(meanGap), max \(gaps.max()!)")
        #expect(gaps.max()! < 0.7 && meanGap < 0.15, "\(gaps)")
        #expect(!m.reproducibleLogProbs)
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

/// LoRA on SmolLM2: fresh adapters change nothing, gradients reach only the adapters and the value head, training
/// steps lower the loss on what they see, and adapters round-trip through a checkpoint beside the base GGUF.
@Suite(.serialized, .enabled(if: SmolLM2.present, "models/SmolLM2-135M-Instruct.Q4_1.gguf is absent: run `make model`"))
struct LlamaLoRATests {
    func input(_ p: String) -> AgentInput { AgentInput(image: RGBImage(width: 0, height: 0), prompt: p) }

    @Test func adaptersTrainAndRoundTrip() throws {
        let m = try LlamaPolicy(path: SmolLM2.path, context: 512)
        let prompt = "Cards: '3', '8', 'K', '2'. Reply in JSON."
        let answer = m.encode("{\"thoughts\": \"3 * 8 = 24\", \"action\": \"3\"}") + [m.endOfText]
        let before = try m.evaluate(input(prompt), outputTokens: answer, lambda: 1, temperature: 1)
        try m.enableLoRA(LoRAConfig(rank: 4, alpha: 8), seed: 1)
        // B = 0: the adapted model is the base model
        let same = try m.evaluate(input(prompt), outputTokens: answer, lambda: 1, temperature: 1)
        for (a, b) in zip(before.tokenLogProbs, same.tokenLogProbs) { #expect(abs(a - b) < 1e-4) }
        let names = m.namedParameters().map(\.0)
        #expect(names.contains("lora.blocks.0.attn.q.lora_a") && names.contains("lora.blocks.29.mlp.down.lora_b") && names.contains("value.weight"))
        #expect(m.namedParameters().count == 2 + 30 * 7 * 2)
        // score agrees with evaluate, and its gradient reaches only adapters and the value head
        let rows = try m.prepare([TrainingRow(input: input(prompt), output: answer)])
        let s = try m.score(rows, temperature: 1)
        for (a, b) in zip(s.tokenLogProbs[0], same.tokenLogProbs) { #expect(abs(a - b) < 2e-3) }
        let baseQ = m.model.blocks[3].attn.q.weight.scalars
        let opt = Adam.adamW(m.namedParameters(), learningRate: 1e-3, weightDecay: 0)
        var losses: [Float] = []
        for _ in 0..<4 {
            let sc = try m.score(rows, temperature: 1)
            let loss = sc.weighted.sum() * (-1 / Float(answer.count)) + (sc.value - 1).square().sum()
            m.zeroGrad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        }
        #expect(losses.last! < losses.first!, "\(losses)")
        #expect(m.model.blocks[3].attn.q.weight.scalars == baseQ)
        let after = try m.evaluate(input(prompt), outputTokens: answer, lambda: 1, temperature: 1)
        #expect(after.tokenLogProbs.reduce(0, +) > same.tokenLogProbs.reduce(0, +))
        // a snapshot and a saved checkpoint score exactly as the live model
        let snap = m.snapshot()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gtr-lora-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try m.save(to: dir)
        let back = try PolicyRegistry.load(from: dir)
        for p in [snap, back] {
            let e = try p.evaluate(input(prompt), outputTokens: answer, lambda: 1, temperature: 1)
            for (a, b) in zip(e.tokenLogProbs, after.tokenLogProbs) { #expect(abs(a - b) < 1e-4) }
            #expect(abs(e.value - after.value) < 1e-4)
        }
        #expect(throws: AgentError.self) { try m.enableLoRA(LoRAConfig(rank: 0), seed: 1) }
    }
}
