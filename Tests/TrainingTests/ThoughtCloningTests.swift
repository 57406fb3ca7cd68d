import Agents
import Foundation
import Support
import Testing
@testable import Training

private let input = AgentInput(image: RGBImage(width: 1, height: 1), prompt: "p")
/// One token per UTF-8 byte: token k's text is byte k, so weights can be read against the text.
private func bytes(_ s: String) -> [Int32] { s.utf8.map { Int32($0) } }

private func masked(_ t: CloningTarget) -> String {
    let c = t.masked.characters
    return String(t.text[t.text.index(t.text.startIndex, offsetBy: c.lowerBound)..<t.text.index(t.text.startIndex, offsetBy: c.upperBound)])
}

@Suite struct ThoughtCloningTests {
    @Test func correctionGetsTheAgentsActionLastAndOnlyItIsMasked() throws {
        // the corrector's own action is dropped; the agent's action is written last
        let correction = try JSONParser.parse(#"{"cards": [10, 5, 2, 1], "action": "*", "formula": "10+", "thoughts": "Use 5 next."}"#)
        let t = try ThoughtCloning.target(correction: correction, action: "5")
        #expect(t.text == #"{"cards": [10, 5, 2, 1], "formula": "10+", "thoughts": "Use 5 next.", "action": "5"}"#)
        #expect(masked(t) == #""action": "5""#)
        // character offsets by hand: the key starts after the thoughts member and ", "
        let start = #"{"cards": [10, 5, 2, 1], "formula": "10+", "thoughts": "Use 5 next.", "#.count
        #expect(t.masked.characters == start..<(start + #""action": "5""#.count))
        #expect(t.masked.bytes == t.masked.characters)  // ASCII
    }

    @Test func actionWithQuotesAndThoughtMentioningTheKey() throws {
        let thought = #"I must not write "action": "look" again; the action key comes last, action!"#
        let correction = JSONValue.object([("thoughts", .string(thought))])
        let t = try ThoughtCloning.target(correction: correction, action: #"put "mug" in/on sink"#)
        #expect(masked(t) == #""action": "put \"mug\" in/on sink""#)
        #expect(t.text.hasSuffix(masked(t) + "}"))
        // the whole text stays strict JSON and round-trips
        let back = try JSONParser.parse(t.text)
        #expect(back["thoughts"]?.stringValue == thought)
        #expect(back["action"]?.stringValue == #"put "mug" in/on sink"#)
    }

    @Test func structuralScanFindsTheLastTopLevelKeyOnly() throws {
        // a nested "action" after the real key, and "action": inside a string: a text search would pick either
        let text = #"{"thoughts": "x", "action": "+", "plan": {"action": "-", "why": "a \"action\": b"}, "note": "\"action\": 7"}"#
        let s = try #require(ThoughtCloning.actionSpan(in: text))
        #expect(s.characters == 18..<31)
        #expect(text.utf8.count > 31)
        // two top-level action keys: the last one counts (what a model writing it twice would be parsed as)
        let twice = #"{"action": "1", "thoughts": "t", "action": "2"}"#
        let t = try #require(ThoughtCloning.actionSpan(in: twice))
        #expect(String(twice.utf8.dropFirst(t.bytes.lowerBound).prefix(t.bytes.count))! == #""action": "2""#)
        // non-string values, whitespace and escapes in keys
        let odd = "{ \"cards\" : [1, [2, \"]\"]] ,\n  \"\\u0061ction\" :\t{\"a\": [1, {\"b\": \"}\"}]} }"
        let o = try #require(ThoughtCloning.actionSpan(in: odd))
        #expect(String(odd.utf8.dropFirst(o.bytes.lowerBound).prefix(o.bytes.count))! == "\"\\u0061ction\" :\t{\"a\": [1, {\"b\": \"}\"}]}")
        // no top-level action, not an object, or cut off before the value ends
        #expect(ThoughtCloning.actionSpan(in: #"{"thoughts": "say \"action\": 3", "x": {"action": 1}}"#) == nil)
        #expect(ThoughtCloning.actionSpan(in: #"["action", 1]"#) == nil)
        #expect(ThoughtCloning.actionSpan(in: #"{"thoughts": "t", "action": "unterminated"#) == nil)
        // cut off after the action member: the member is still found
        #expect(ThoughtCloning.actionSpan(in: #"{"thoughts": "t", "action": 12, "more": "#)?.characters == 18..<30)
    }

    @Test func characterAndByteOffsetsDifferOutsideASCII() throws {
        let t = try ThoughtCloning.target(correction: .object([("thoughts", .string("Le café ☕ 🂡 est prêt"))]), action: "hit")
        #expect(masked(t) == #""action": "hit""#)
        let chars = t.text.count, bytes = t.text.utf8.count
        #expect(t.masked.characters.upperBound == chars - 1)
        #expect(t.masked.bytes.upperBound == bytes - 1)
        #expect(t.masked.bytes.lowerBound - t.masked.characters.lowerBound == bytes - chars)
    }

    @Test func editableThoughtAndIndentedStyle() throws {
        // the shell's editable thought: the object before "action": without its closing brace
        let t = try ThoughtCloning.target(thought: #"{"cards": [10, "J"], "thoughts": "x""#, action: "+", style: .indented(2))
        // Python: json.dumps({'cards': [10, 'J'], 'thoughts': 'x', 'action': '+'}, indent=2)
        #expect(t.text == "{\n  \"cards\": [\n    10,\n    \"J\"\n  ],\n  \"thoughts\": \"x\",\n  \"action\": \"+\"\n}")
        #expect(masked(t) == #""action": "+""#)
        let whole = try ThoughtCloning.target(thought: #"  {"thoughts": "y", "action": "stand"} "#, action: "hit")
        #expect(whole.text == #"{"thoughts": "y", "action": "hit"}"#)
        #expect(throws: ThoughtCloning.CloningError.self) { try ThoughtCloning.target(thought: "not json", action: "1") }
        #expect(throws: ThoughtCloning.CloningError.self) { try ThoughtCloning.target(correction: .string("x"), action: "1") }
    }

    @Test func rowWeightsZeroExactlyTheActionMember() throws {
        let t = try ThoughtCloning.target(correction: .object([("thoughts", .string(#"the "action": is +"#))]), action: #"a "b""#)
        let row = ThoughtCloning.row(t, input: input, encode: bytes, endOfText: 2)
        #expect(row.output == bytes(t.text) + [2])
        #expect(row.weights.count == row.output.count)
        let expected = (0..<t.text.utf8.count).map { t.masked.bytes.contains($0) ? Float(0) : 1 } + [1]
        #expect(row.weights == expected)
        #expect(row.weights.filter { $0 == 0 }.count == #""action": "a \"b\"""#.utf8.count)
        // no EOS
        #expect(ThoughtCloning.row(t, input: input, encode: bytes, endOfText: nil).output.count == t.text.utf8.count)
    }

    @Test func wholeTextOffsetsMaskEveryOverlappingToken() {
        // tokens: [0,3) [3,8) [8,12) [12,20) [20,21): the mask [5, 12) overlaps tokens 1 and 2 only
        let w = ThoughtCloning.weights(masked: 5..<12, byteOffsets: [0, 3, 8, 12, 20, 21])
        #expect(w == [1, 0, 0, 1, 1])
        #expect(ThoughtCloning.weights(masked: 3..<3, byteOffsets: [0, 3, 8]) == [1, 1])
        // agrees with OutputSpans on where the action starts
        let text = #"{"thoughts": "x", "action": "1"}"#
        let offsets = Array(0...text.utf8.count)
        let span = ThoughtCloning.actionSpan(in: text)!
        #expect(OutputSpans.locate(text: text, byteOffsets: offsets).actionTokenStart == span.bytes.lowerBound)
        #expect(ThoughtCloning.weights(masked: span.bytes, byteOffsets: offsets).firstIndex(of: 0) == span.bytes.lowerBound)
    }
}

/// The value-only mask (a variation of GTR's label): the `"action": ` key and the closing brace are cloned.
@Suite struct ValueOnlyMaskTests {
    @Test func masksOnlyTheActionValue() throws {
        let c = try JSONParser.parse(#"{"cards": [1, 2], "thoughts": "say \"action\": no", "action": "x"}"#)
        let member = try ThoughtCloning.target(correction: c, action: "+")
        let value = try ThoughtCloning.target(correction: c, action: "+", maskValueOnly: true)
        #expect(member.text == value.text)
        let u = Array(value.text.utf8)
        #expect(String(decoding: u[member.masked.bytes], as: UTF8.self) == #""action": "+""#)
        #expect(String(decoding: u[value.masked.bytes], as: UTF8.self) == #""+""#)
    }
}
