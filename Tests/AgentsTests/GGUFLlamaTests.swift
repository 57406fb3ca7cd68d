import Foundation
import Testing
import Tensors
@testable import Agents

/// SmolLM2-135M-Instruct from its GGUF against llama.cpp (`scripts/smollm2_logits_reference.py` wrote the fixtures
/// with llama-cpp-python on the same files). gtr keeps the weights in their blocks and rounds each activation
/// block to 8 bits before the block dot products, as llama.cpp does, so what is left between the two is float
/// summation order and llama.cpp's f16 KV cache: the tests hold gtr to the measured distance and to llama.cpp's
/// greedy continuations.
enum SmolLM2Files {
    static let models = URL(fileURLWithPath: SmolLM2.path).deletingLastPathComponent()
    static let q8Path = models.appendingPathComponent("SmolLM2-135M-Instruct.Q8_0.gguf").path
    static var q8Present: Bool { FileManager.default.fileExists(atPath: q8Path) }
    static func fixture(_ name: String) -> URL { SmolLM2.fixture.deletingLastPathComponent().appendingPathComponent(name) }
}

struct LogitsRow { var prompt: String; var ids: [Int]; var top5: [Int]; var top5Logits: [Double]; var greedy: [Int] }

func logitsRows(_ name: String) throws -> [LogitsRow] {
    let data = try Data(contentsOf: SmolLM2Files.fixture(name))
    let parsed = try JSONSerialization.jsonObject(with: data)
    let root = try #require(parsed as? [String: Any])
    return try #require(root["rows"] as? [[String: Any]]).map {
        LogitsRow(prompt: $0["prompt"] as! String, ids: $0["ids"] as! [Int], top5: $0["top5"] as! [Int],
                  top5Logits: $0["top5_logits"] as! [Double], greedy: $0["greedy"] as! [Int])
    }
}

/// Next-token top-5 and 64 greedy tokens against llama.cpp's on every fixture prompt.
func checkAgainstLlamaCpp(_ m: GGUFLlama, fixture: String, tolerance: Double, label: String) throws {
    for r in try logitsRows(fixture) {
        #expect(m.tokenizer.encode(r.prompt) == r.ids)
        let logits = m.nextLogits(r.ids)
        let top = Array(logits.indices.sorted { logits[$0] > logits[$1] }.prefix(5))
        let worst = zip(r.top5, r.top5Logits).map { abs(Double(logits[$0]) - $1) }.max()!
        let g = m.greedy(r.ids, maxTokens: r.greedy.count)
        let agree = zip(g, r.greedy).prefix { $0 == $1 }.count
        print("GGUF llama \(label): top-5 \(top) vs llama.cpp \(r.top5); max |Δlogit| over them \(worst); greedy agrees for \(agree) of \(r.greedy.count)")
        // Measured (issue 17): top-5 identical on 5 of the 6 prompt/model pairs (the 6th swaps its 5th id), max |Δlogit|
        // 0.42 (Q4_1) and 0.40 (Q8_0) against 0.7 before the block kernels; greedy identical for 64 tokens on one
        // prompt and for 4 to 19 tokens on the others, where a near-tie flips (llama.cpp's f16 KV cache, its expf
        // and rope tables still differ from gtr's). Full greedy identity is the open part of the issue item.
        #expect(top.first == r.top5.first && Set(top).intersection(r.top5).count >= 4, "top-5 \(top) vs \(r.top5)")
        #expect(worst < tolerance)
        #expect(agree >= 4, "greedy diverges at token \(agree): \(m.tokenizer.decode(g).debugDescription)")
    }
}

@Suite(.serialized, .enabled(if: SmolLM2.present, "models/SmolLM2-135M-Instruct.Q4_1.gguf is absent: run `make model`"))
struct GGUFLlamaTests {
    static let model: GGUFLlama? = try? GGUFLlama(path: SmolLM2.path)

    @Test func q4_1MatchesLlamaCpp() throws {
        try checkAgainstLlamaCpp(try #require(Self.model), fixture: "smollm2-logits.json", tolerance: 0.5, label: "Q4_1")
    }

    /// Greedy decoding with the KV cache agrees with the full forward pass.
    @Test func greedyDecodingIsConsistent() throws {
        let m = try #require(Self.model)
        let r = try #require(try logitsRows("smollm2-logits.json").first)
        let g = m.greedy(r.ids, maxTokens: 12)
        // Each cached step picks what a full forward pass over the whole prefix picks.
        for k in 0..<4 {
            let logits = m.nextLogits(r.ids + g.prefix(k))
            #expect(logits.indices.max { logits[$0] < logits[$1] } == g[k], "step \(k)")
        }
    }

    /// Quantised weights are not parameters; the all-Float load lists them all and stays close.
    @Test func quantisedWeightsAreFrozenAndTheFloatLoadRemains() throws {
        let m = try #require(Self.model)
        #expect(m.model.namedParameters().map(\.0).sorted() == (["final_norm.weight"] + (0..<30).flatMap { ["blocks.\($0).norm1.weight", "blocks.\($0).norm2.weight"] }).sorted())
        #expect(m.model.blocks[0].attn.q.quantized?.type == .q4_1 && m.model.embed.quantized?.type == .q8_0)
        let f = try GGUFLlama(path: SmolLM2.path, dequantize: true)
        #expect(f.model.namedParameters().count == 1 + 30 * 9 + 1 && f.model.embed.quantized == nil)
        let r = try #require(try logitsRows("smollm2-logits.json").first)
        let a = m.nextLogits(r.ids), b = f.nextLogits(r.ids)
        let worst = zip(a, b).map { abs($0 - $1) }.max()!
        print("GGUF llama: quantised vs all-Float load, max |Δlogit| \(worst)")
        #expect(worst < 1.5)
    }
}

@Suite(.serialized, .enabled(if: SmolLM2Files.q8Present, "models/SmolLM2-135M-Instruct.Q8_0.gguf is absent: run `make model-q8`"))
struct GGUFLlamaQ8Tests {
    @Test func q8_0MatchesLlamaCpp() throws {
        let m = try GGUFLlama(path: SmolLM2Files.q8Path)
        try checkAgainstLlamaCpp(m, fixture: "smollm2-logits-q8_0.json", tolerance: 0.5, label: "Q8_0")
    }
}
