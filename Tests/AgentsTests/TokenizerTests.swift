import Foundation
import Testing
@testable import Agents

@Suite struct TokenizerTests {
    static let corpus = [
        "You are an expert 24 points card game player. You are observing the current formula: 10*2.",
        "{\"cards\": [10, 5, 3, 1], \"formula\": \"10*\", \"thoughts\": \"I see K, 5, 3 and A.\", \"action\": \"2\"}",
        "You are an expert 24 points card game player. You are observing the current formula: (5-1).",
    ]

    @Test func roundTripsAnyText() throws {
        let t = BPETokenizer.train(corpus: Self.corpus, mergeCount: 60)
        #expect(t.merges.count > 10)
        for s in Self.corpus + ["", "ünïcødé ✓ 🃏", "\"action\": \"=\"}", "a\u{0}b", String(repeating: "24 ", count: 50)] {
            let ids = t.encode(s)
            #expect(t.decode(ids) == s)
            #expect(ids.allSatisfy { $0 >= 4 && Int($0) < t.vocabSize })
            // byte offsets end at the UTF-8 length
            #expect(t.byteOffsets(ids).last == s.utf8.count)
        }
    }

    @Test func digitsAndFormulaSymbolsStaySingleTokens() {
        let t = BPETokenizer.train(corpus: Self.corpus, mergeCount: 200)
        let ids = t.encode("(10+2)*3=")
        #expect(ids.count == 9)
        #expect(ids.map { t.display($0) } == ["(", "1", "0", "+", "2", ")", "*", "3", "="])
        // the constant prompt text compresses into far fewer tokens than bytes
        let prompt = Self.corpus[0]
        #expect(t.encode(prompt).count * 3 < prompt.utf8.count)
    }

    @Test func trainingIsDeterministicAndCodable() throws {
        let a = BPETokenizer.train(corpus: Self.corpus, mergeCount: 80)
        let b = BPETokenizer.train(corpus: Self.corpus.reversed(), mergeCount: 80)
        #expect(a == b)
        let data = try JSONEncoder().encode(a)
        let c = try JSONDecoder().decode(BPETokenizer.self, from: data)
        #expect(c == a)
        #expect(c.encode(Self.corpus[1]) == a.encode(Self.corpus[1]))
    }

    @Test func rejectsBadMerges() {
        #expect(throws: TokenizerError.self) { try BPETokenizer(merges: [[4, 9999]]) }
        #expect(throws: TokenizerError.self) { try BPETokenizer(merges: [[0, 5]]) }
        #expect(throws: TokenizerError.self) { try BPETokenizer(merges: [[5]]) }
    }

    @Test func actionSpanByCharacterOffsets() {
        let t = BPETokenizer.train(corpus: Self.corpus, mergeCount: 100)
        let text = "{\"thoughts\": \"the \\\"action\\\": is later\", \"action\": \"hit\"}"
        let ids = t.encode(text)
        let sp = OutputSpans.locate(text: text, byteOffsets: t.byteOffsets(ids))
        #expect(sp.hasAction)
        // the action part decodes to text that contains the last "action": and the value
        let actionText = t.decode(Array(ids[sp.actionTokenStart...]))
        #expect(actionText.hasSuffix("\"action\": \"hit\"}"))
        #expect(!t.decode(Array(ids[..<sp.actionTokenStart])).contains("\"action\": \"hit\""))
        let none = "{\"thoughts\": \"no action here\"}"
        let ids2 = t.encode(none)
        let sp2 = OutputSpans.locate(text: none, byteOffsets: t.byteOffsets(ids2))
        #expect(!sp2.hasAction && sp2.actionTokenStart == ids2.count)
    }
}
