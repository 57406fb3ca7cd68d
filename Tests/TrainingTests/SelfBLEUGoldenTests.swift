import Foundation
import Testing
@testable import Training

/// Self-BLEU against NLTK's `sentence_bleu` (bigram weights, smoothing method 1): golden values written by
/// `scripts/selfbleu_golden.py`.
@Suite struct SelfBLEUGoldenTests {
    struct Golden: Decodable { var texts: [String]; var self_bleu: Double }

    static let golden: [String: Golden] = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/selfbleu.json")
        return (try? JSONDecoder().decode([String: Golden].self, from: Data(contentsOf: url))) ?? [:]
    }()

    @Test(arguments: ["identical", "varied", "near_collapse", "short_and_empty", "no_shared_words", "single_words"])
    func matchesNLTK(_ name: String) throws {
        let g = try #require(Self.golden[name], "fixture missing")
        let v = ThoughtDiversity.selfBLEU(g.texts)
        #expect(abs(v - g.self_bleu) < 1e-9, "\(name): gtr \(v), NLTK \(g.self_bleu)")
    }
}
