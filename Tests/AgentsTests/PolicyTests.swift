import Environments
import Foundation
import Tensors
import Testing
@testable import Agents

@Suite struct PolicyTests {
    /// Answers of different lengths for one input: generated ones (with and without an action) and hand-written ones.
    func answers(_ m: TinyVLM, _ x: AgentInput) throws -> [[Int32]] {
        let g = GenerationConfig(temperature: 1, maxNewTokens: 24, seed: 11)
        let sampled = try m.generate([x, x], config: g).map(\.tokenIDs)
        return sampled + [
            m.encode("{\"current number\": 1, \"thoughts\": \"up\", \"action\": \"+\"}") + [m.endOfText],
            m.encode("{\"thoughts\": \"no action here\"}"),
            [m.endOfText],
        ]
    }

    @Test(arguments: [Float(1), 0.3])
    func batchedEvaluateEqualsOneByOne(temperature: Float) throws {
        let m = try tinyModel()
        let p: Policy = m
        for x in try inputs("points24", seeds: [1, 2]) + inputs("numberline", seeds: [3]) {
            let outs = try answers(m, x)
            let batched = try p.evaluate(x, outputs: outs, lambda: 0.5, temperature: temperature)
            #expect(batched.count == outs.count)
            for (o, b) in zip(outs, batched) {
                let single = try p.evaluate(x, outputTokens: o, lambda: 0.5, temperature: temperature)
                #expect(b.spans == single.spans && b.tokenLogProbs.count == o.count)
                for (u, v) in zip(b.tokenLogProbs, single.tokenLogProbs) { #expect(abs(u - v) < 1e-4) }
                for (u, v) in zip(b.tokenEntropies, single.tokenEntropies) { #expect(abs(u - v) < 1e-4) }
                #expect(abs(b.thoughtLogProb - single.thoughtLogProb) < 1e-4 && abs(b.actionLogProb - single.actionLogProb) < 1e-4)
                #expect(abs(b.logProb - single.logProb) < 1e-4 && abs(b.value - single.value) < 1e-4)
            }
        }
        #expect(try p.evaluate(try inputs("points24", seeds: [1])[0], outputs: [], lambda: 1, temperature: 1).isEmpty)
        #expect(throws: AgentError.self) { try p.evaluate(try inputs("points24", seeds: [1])[0], outputs: [[5], []], lambda: 1, temperature: 1) }
    }

    @Test func trainableScoresAreWeightedLogProbsWithGradients() throws {
        let t: TrainablePolicy = try tinyModel()
        let xs = try inputs("points24", seeds: [4, 5])
        let a = t.encode("{\"cards\": [1, 2, 3, 4], \"thoughts\": \"go\", \"action\": \"4\"}") + [t.endOfText]
        let b = t.encode("{\"cards\": [5], \"action\": \"=\"}") + [t.endOfText]
        let wa = a.indices.map { Float($0 % 3) * 0.5 }, wb = Array(repeating: Float(1), count: b.count)
        let rows = [TrainingRow(input: xs[0], output: a, weights: wa), TrainingRow(input: xs[1], output: b, weights: wb)]
        let s = try t.score(rows, temperature: 0.7)
        #expect(s.weighted.shape == [2] && s.value.shape == [2])
        for (k, r) in rows.enumerated() {
            let ev = try t.evaluate(r.input, outputTokens: r.output, lambda: 1, temperature: 0.7)
            let expected = zip(ev.tokenLogProbs, r.weights).map { $0 * $1 }.reduce(0, +)
            #expect(abs(s.weighted.scalars[k] - expected) < 1e-3)
            #expect(abs(s.value.scalars[k] - ev.value) < 1e-4)
            for (u, v) in zip(s.tokenLogProbs[k], ev.tokenLogProbs) { #expect(abs(u - v) < 1e-4) }
        }
        t.zeroGrad()
        (s.weighted.sum() + s.value.sum()).backward()
        let grads = t.namedParameters().filter { $0.1.requiresGrad }.map { ($0.0, $0.1.grad.map { g in g.scalars.contains { $0 != 0 } } ?? false) }
        #expect(grads.allSatisfy { $0.1 }, "no gradient: \(grads.filter { !$0.1 }.map(\.0))")
        #expect(throws: AgentError.self) { try t.score([TrainingRow(input: xs[0], output: a, weights: [1])], temperature: 1) }
    }

    @Test func preparedRowsScoreLikeRawOnesAndOnlyForTheirModel() throws {
        let t: TrainablePolicy = try tinyModel(seed: 3), other: TrainablePolicy = try tinyModel(seed: 4)
        let xs = try inputs("numberline", seeds: [1, 2, 3])
        let rows = xs.map { TrainingRow(input: $0, output: t.encode("{\"thoughts\": \"up\", \"action\": \"+\"}") + [t.endOfText]) }
        let prepared = try t.prepare(rows)
        #expect(prepared.allSatisfy { $0.encoded != nil } && rows.allSatisfy { $0.encoded == nil })
        let raw = try Autograd.noGrad { try t.score(rows, temperature: 1) }.weighted.scalars
        let fast = try Autograd.noGrad { try t.score(prepared, temperature: 1) }.weighted.scalars
        #expect(raw == fast)
        // another model re-encodes the input (its own pixel mean and prompt ids) rather than reading t's encoding
        #expect(try other.score(prepared, temperature: 1).weighted.scalars == other.score(rows, temperature: 1).weighted.scalars)
        var long = rows[0]
        long.output = Array(repeating: 5, count: t.contextLength)
        long.weights = Array(repeating: 1, count: t.contextLength)
        #expect(throws: AgentError.self) { try t.prepare([long]) }
    }

    @Test func snapshotsDoNotChangeWhenTheTrainedModelDoes() throws {
        let m = try tinyModel()
        let x = try inputs("points24", seeds: [6])
        let g = GenerationConfig(temperature: 1, maxNewTokens: 20, seed: 3)
        let snap = m.snapshot()
        let before = try snap.generate(x, config: g)[0]
        #expect(try m.generate(x, config: g)[0].tokenIDs == before.tokenIDs)
        #expect(snap.training == m.training && snap.kind == m.kind)
        // an optimizer step on the trained model (and a blunt overwrite of one weight matrix)
        let opt = Adam.adamW(m.namedParameters(), learningRate: 0.05, weightDecay: 0)
        let row = TrainingRow(input: x[0], output: before.tokenIDs.reversed())
        let loss = try m.score([row], temperature: 1).weighted.sum() * -1
        m.zeroGrad(); loss.backward(); opt.step()
        m.decoder.namedParameters()[0].1.assign(Tensor.zeros(m.decoder.namedParameters()[0].1.shape))
        let trained = try m.generate(x, config: g)[0]
        #expect(trained.tokenLogProbs != before.tokenLogProbs)
        let after = try snap.generate(x, config: g)[0]
        #expect(after.tokenIDs == before.tokenIDs && after.tokenLogProbs == before.tokenLogProbs && after.value == before.value)
        let snapModule = try #require(snap as? TinyVLM)
        #expect(snapModule.parameters.allSatisfy { !$0.requiresGrad })
    }

    @Test func contextCheckIsSharedAndTyped() throws {
        let m = try tinyModel()
        let x = try inputs("points24", seeds: [1])[0]
        let n = m.inputTokenCount(x)
        #expect(n.visual == m.config.patchCount && n.text == m.promptIDs(x.prompt).count)
        let room = m.contextLength - n.visual - n.text
        #expect(m.fits(x, maxNewTokens: room) && !m.fits(x, maxNewTokens: room + 1))
        do {
            _ = try m.generate([x], config: GenerationConfig(maxNewTokens: room + 1))
            Issue.record("generate accepted an answer budget past the context")
        } catch let AgentError.contextTooShort(input, answer, context) {
            #expect(input == n.visual + n.text && answer == room + 1 && context == m.contextLength)
        }
        let e = AgentError.contextTooShort(inputTokens: n.visual + n.text, answerTokens: room + 1, context: m.contextLength)
        #expect(e.description.contains("max_tokens ≤ \(room) would fit") && !e.description.contains("\n"))
        #expect(try m.generate([x], config: GenerationConfig(maxNewTokens: 4)).count == 1)
    }
}

@Suite struct PolicyRegistryTests {
    func saved(_ m: TinyVLM) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gtr-registry-\(UUID().uuidString)")
        try m.save(to: dir)
        return dir
    }

    func message(_ body: () throws -> Any) -> String? {
        do { _ = try body(); return nil } catch let e as AgentError { return e.description } catch { return "not an AgentError: \(error)" }
    }

    @Test func loadDispatchesOnKind() throws {
        let m = try tinyModel()
        m.training = ["command": "test"]
        let dir = try saved(m)
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(try PolicyRegistry.kind(of: dir) == "tiny-vlm")
        let p = try PolicyRegistry.load(from: dir)
        #expect(p.kind == "tiny-vlm" && p.training["command"] == "test" && p.describe().count == 4)
        let x = try inputs("ezpoints", seeds: [2])
        let g = GenerationConfig(temperature: 1, maxNewTokens: 16, seed: 4)
        #expect(try p.generate(x, config: g)[0].tokenIDs == m.generate(x, config: g)[0].tokenIDs)
        #expect(PolicyRegistry.kinds.contains("tiny-vlm") && PolicyRegistry.trainableKinds.contains("tiny-vlm"))
    }

    @Test func unknownKindsAndDamagedCheckpointsAreOneLine() throws {
        let dir = try saved(try tinyModel())
        defer { try? FileManager.default.removeItem(at: dir) }
        let cfgURL = dir.appendingPathComponent("config.json")
        let good = try Data(contentsOf: cfgURL)
        var json = try #require(try JSONSerialization.jsonObject(with: good) as? [String: Any])
        func write(_ edit: (inout [String: Any]) -> Void) throws {
            var j = json
            edit(&j)
            try JSONSerialization.data(withJSONObject: j).write(to: cfgURL)
        }
        var errors: [String?] = []
        try write { $0["kind"] = "llama-gguf-from-the-future" }
        errors.append(message { try PolicyRegistry.load(from: dir) })
        #expect(errors.last??.contains("unknown model kind 'llama-gguf-from-the-future' (known: tiny-vlm, llama-gguf)") == true)
        errors.append(message { try PolicyRegistry.load(from: dir.appendingPathComponent("missing")) })
        #expect(errors.last??.contains("has no config.json") == true)
        try Data("{not json".utf8).write(to: cfgURL)
        errors.append(message { try PolicyRegistry.load(from: dir) })
        #expect(errors.last??.contains("is not a tiny-vlm config") == true)
        // implausible shapes are rejected before anything is allocated
        for (key, value) in [("kvHeads", 0), ("heads", 0), ("maxSequence", 8), ("ffnHidden", -1), ("layers", 1000)] {
            try write { j in
                var model = j["model"] as! [String: Any], t = model["transformer"] as! [String: Any]
                t[key] = value; model["transformer"] = t; j["model"] = model
            }
            errors.append(message { try PolicyRegistry.load(from: dir) })
        }
        try good.write(to: cfgURL)
        let w = dir.appendingPathComponent("model.safetensors")
        let bytes = try Data(contentsOf: w)
        try bytes.prefix(bytes.count / 3).write(to: w)
        errors.append(message { try PolicyRegistry.load(from: dir) })
        for e in errors {
            #expect(e != nil && e?.contains("not an AgentError") == false && e?.contains("\n") == false, "\(e ?? "loaded")")
        }
        json = [:]
        #expect(message { try PolicyRegistry.makeTrainable(kind: "remote", for: PolicyCorpus(texts: ["a"], images: []), PolicyShape()) }?
            .contains("cannot be trained here") == true)
    }

    @Test func theShippedDefaultAgentLoadsThroughTheRegistry() throws {
        let dir = try #require(DefaultAgent.shipped)
        let p = try PolicyRegistry.load(from: dir)
        let direct = try TinyVLM.load(from: dir)
        #expect(p.kind == "tiny-vlm" && p.contextLength == 512 && p.training["command"]?.hasPrefix("sft env=points24") == true)
        let e = Points24()
        try e.reset(seed: 3)
        let x = [AgentInput.from(e)]
        let g = GenerationConfig(greedy: true)
        let a = try p.generate(x, config: g)[0], b = try direct.generate(x, config: g)[0]
        #expect(a.tokenIDs == b.tokenIDs && a.finished && a.text.contains("\"action\""))
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("gtr-home-\(UUID().uuidString)")
        #expect(DefaultAgent.locate(home: home) == dir)
        #expect(try DefaultAgent.load(home: home)?.from == dir)
    }
}
