import Agents
import Foundation
import Support
import Tensors

/// A span of a text, as UTF-8 byte offsets (what tokenizers' offsets use) and as `Character` offsets (what a
/// person counts and `OutputSpans.actionCharOffset` reports).
public struct TextSpan: Sendable, Equatable {
    public var bytes: Range<Int>
    public var characters: Range<Int>
    public init(bytes: Range<Int>, characters: Range<Int>) { self.bytes = bytes; self.characters = characters }
}

/// One SFT target built from a corrected thought (GTR's label, digest §5.5, with its fixes): the corrected
/// thought's JSON with the agent's *own* action written last, and the span of that `"action": "…"` member, which
/// gets weight 0 so only the thought is cloned (cloning the corrector's action hurts: §5.5, paper).
public struct CloningTarget: Sendable, Equatable {
    /// The answer text the policy is trained to write (no EOS).
    public var text: String
    /// The agent's action, as written in the `"action"` member.
    public var action: String
    /// From the opening quote of the last top-level `"action"` key to the end of its value (the closing quote of a
    /// string value). The separator before it and the closing brace after it stay labelled, as in GTR.
    public var masked: TextSpan
}

/// Thought cloning: corrected thought → `CloningTarget` → `TrainingRow` for `TrainablePolicy.score`.
///
/// How it fits a trainer: when a corrector returns a correction for step t (a JSON object, e.g.
/// `CorrectorReply.correction`; or an edited thought from the shell), the trainer calls
/// `target(correction:action:)` with the action the agent actually played, then `row(_:input:policy:)` with the
/// step's `AgentInput`, and stores the row in the `DAggerBuffer`. The SFT loss of a sampled row is
/// −Σ wₖ·log π(oₖ) / Σ wₖ with `score(rows, temperature: 1)` (thought and JSON tokens weight 1, action 0).
///
/// The action member is located by parsing the JSON structure (the last key of the top-level object named
/// `action`), never by token ids or a plain text search: a thought that says `"action":` inside its string, or an
/// action value with quotes in it, cannot move the mask.
public enum ThoughtCloning {
    public enum Style: Sendable, Equatable {
        /// `{"cards": [1, 2], "thoughts": "…", "action": "+"}`: the form the experts, the SFT data and the shell's
        /// `thought set` write, so the cloned text looks like what the policy generates.
        case compact
        /// Python's `json.dumps(indent: n)` layout (GTR's labels used indent 2).
        case indented(Int)
    }

    public enum CloningError: Error, Equatable, CustomStringConvertible {
        case notAnObject(String)
        public var description: String { if case let .notAnObject(m) = self { return "thought cloning: \(m)" }; return "thought cloning" }
    }

    /// The corrected thought's members in order, any `action` member removed, then `"action": action` last.
    /// `maskValueOnly`: mask only the action's value (the `"action": ` key and the closing brace are cloned), a
    /// variation of GTR's label, which masks the whole member.
    public static func target(correction: JSONValue, action: String, style: Style = .compact, maskValueOnly: Bool = false) throws -> CloningTarget {
        guard case let .object(pairs) = correction else { throw CloningError.notAnObject("the correction is not a JSON object") }
        let members = pairs.filter { $0.0 != "action" } + [("action", JSONValue.string(action))]
        let text = write(.object(members), style: style, depth: 0)
        guard let span = actionSpan(in: text, valueOnly: maskValueOnly) else { throw CloningError.notAnObject("no action member in \(text)") }
        return CloningTarget(text: text, action: action, masked: span)
    }

    /// The same from text: a whole JSON object, or the shell's *editable thought* (the object before `"action":`,
    /// without its closing brace, usually ending in `, ` where the action member would follow).
    public static func target(thought: String, action: String, style: Style = .compact) throws -> CloningTarget {
        let t = thought.trimmingCharacters(in: .whitespacesAndNewlines)
        let open = t.hasSuffix(",") ? String(t.dropLast()) : t
        for candidate in [t, open + "}"] {
            if let v = try? JSONParser.parse(candidate), case .object = v { return try target(correction: v, action: action, style: style) }
        }
        throw CloningError.notAnObject("not a JSON object or an editable thought: \(thought.prefix(80))")
    }

    /// The span of the last top-level `"action"` member of the JSON object in `text` (from the key's opening quote to
    /// the end of its value), found by scanning the JSON structure: strings (with their escapes) are skipped whole,
    /// so quotes and `"action":` inside values are never mistaken for the key. Text after a malformed point is not
    /// read; the last member seen before it counts. nil when the text has no top-level `action` member.
    public static func actionSpan(in text: String, valueOnly: Bool = false) -> TextSpan? {
        let b = Array(text.utf8)
        var i = 0
        var found: Range<Int>?
        func ws() { while i < b.count, b[i] == 0x20 || b[i] == 0x0A || b[i] == 0x0D || b[i] == 0x09 { i += 1 } }
        /// Skips a string starting at its opening quote; false when it does not end.
        func string() -> Bool {
            i += 1
            while i < b.count {
                if b[i] == 0x5C { i += 2; continue }       // backslash escape
                if b[i] == 0x22 { i += 1; return true }    // closing quote
                i += 1
            }
            return false
        }
        /// Skips one value (string, object, array, number or literal); false when it does not end.
        func value() -> Bool {
            guard i < b.count else { return false }
            if b[i] == 0x22 { return string() }
            if b[i] == 0x7B || b[i] == 0x5B {
                var depth = 0
                while i < b.count {
                    switch b[i] {
                    case 0x22: if !string() { return false }; continue
                    case 0x7B, 0x5B: depth += 1
                    case 0x7D, 0x5D: depth -= 1; if depth == 0 { i += 1; return true }
                    default: break
                    }
                    i += 1
                }
                return false
            }
            let start = i
            while i < b.count, ![0x2C, 0x7D, 0x5D, 0x20, 0x0A, 0x0D, 0x09].contains(b[i]) { i += 1 }
            return i > start
        }
        ws()
        guard i < b.count, b[i] == 0x7B else { return nil }
        i += 1
        members: while true {
            ws()
            guard i < b.count, b[i] == 0x22 else { break }
            let keyStart = i
            guard string() else { break }
            let key = (try? JSONParser.parse(String(decoding: b[keyStart..<i], as: UTF8.self)))?.stringValue
            ws()
            guard i < b.count, b[i] == 0x3A else { break }
            i += 1; ws()
            let valueStart = i
            guard value() else { break }
            if key == "action" { found = (valueOnly ? valueStart : keyStart)..<i }
            ws()
            guard i < b.count, b[i] == 0x2C else { break members }
            i += 1
        }
        return found.map { TextSpan(bytes: $0, characters: characterRange(text, bytes: $0)) }
    }

    /// The training row of a target, tokenised in three pieces (before the action member, the member, after it) so
    /// the mask follows the character span exactly whatever the tokenizer merges; the pieces' tokens may differ from
    /// tokenising the whole text at the two joints, which is still a tokenisation of the same text. Weights: 1 on
    /// thought tokens, 0 on the action member, 1 on the closing text and on EOS (when `endOfText` is given).
    public static func row(_ target: CloningTarget, input: AgentInput, encode: (String) -> [Int32], endOfText: Int32?) -> TrainingRow {
        let u = Array(target.text.utf8)
        func piece(_ r: Range<Int>) -> [Int32] { r.isEmpty ? [] : encode(String(decoding: u[r], as: UTF8.self)) }
        let before = piece(0..<target.masked.bytes.lowerBound)
        let action = piece(target.masked.bytes)
        let after = piece(target.masked.bytes.upperBound..<u.count) + (endOfText.map { [$0] } ?? [])
        let weights = [Float](repeating: 1, count: before.count) + [Float](repeating: 0, count: action.count)
            + [Float](repeating: 1, count: after.count)
        return TrainingRow(input: input, output: before + action + after, weights: weights)
    }

    /// `row` with the policy's own tokenizer and EOS.
    public static func row(_ target: CloningTarget, input: AgentInput, policy: Policy) -> TrainingRow {
        row(target, input: input, encode: { policy.encode($0) }, endOfText: policy.endOfText)
    }

    /// The SFT loss of scored cloning rows: −Σ wₖ·log π(oₖ) / Σ wₖ over the whole batch (mean cross-entropy per
    /// labelled token, GTR's `sft_loss`), from `score(rows, temperature: 1).weighted` (B). A scalar in the graph.
    public static func loss(weighted: Tensor<Float>, rows: [TrainingRow]) -> Tensor<Float> {
        let labelled = rows.reduce(Float(0)) { $0 + $1.weights.reduce(0, +) }
        return weighted.sum() * (-1 / max(labelled, 1))
    }

    /// Weights for a whole-text tokenisation given its token byte offsets (`byteOffsets[k]` = where token k starts,
    /// count + 1 entries, as `OutputSpans.locate` takes them): 0 for every token that overlaps `masked`, else 1.
    public static func weights(masked: Range<Int>, byteOffsets: [Int]) -> [Float] {
        (0..<max(0, byteOffsets.count - 1)).map { k in
            byteOffsets[k] < masked.upperBound && byteOffsets[k + 1] > masked.lowerBound && !masked.isEmpty ? 0 : 1
        }
    }

    static func characterRange(_ text: String, bytes: Range<Int>) -> Range<Int> {
        let u = text.utf8
        let lo = u.index(u.startIndex, offsetBy: bytes.lowerBound), hi = u.index(u.startIndex, offsetBy: bytes.upperBound)
        let a = text.distance(from: text.startIndex, to: lo)
        return a..<(a + text.distance(from: lo, to: hi))
    }

    static func write(_ v: JSONValue, style: Style, depth: Int) -> String {
        switch v {
        case let .array(items) where !items.isEmpty:
            let parts = items.map { write($0, style: style, depth: depth + 1) }
            guard case let .indented(n) = style else { return "[" + parts.joined(separator: ", ") + "]" }
            let pad = String(repeating: " ", count: n * (depth + 1))
            return "[\n" + parts.map { pad + $0 }.joined(separator: ",\n") + "\n" + String(repeating: " ", count: n * depth) + "]"
        case let .object(pairs) where !pairs.isEmpty:
            let parts = pairs.map { JSONValue.string($0.0).serialized() + ": " + write($0.1, style: style, depth: depth + 1) }
            guard case let .indented(n) = style else { return "{" + parts.joined(separator: ", ") + "}" }
            let pad = String(repeating: " ", count: n * (depth + 1))
            return "{\n" + parts.map { pad + $0 }.joined(separator: ",\n") + "\n" + String(repeating: " ", count: n * depth) + "}"
        default:
            return v.serialized()
        }
    }
}
