import Environments
import Foundation
import Support

/// The GTR corrector prompt for a request (§5.2 table): the environment's `CorrectorQuestions` for the state,
/// and how a reply to them is read. The oracle records the same text in the ledger, so every corrector's row says
/// exactly what was asked.
public struct CorrectorPrompt: Sendable, Equatable {
    public var system: String
    public var user: String
    /// How many `answerN` fields the reply has.
    public var questionCount: Int
    /// Whether the reply has `possible_solution` and `target_formula` (Points24 only, as in GTR).
    public var hasTarget: Bool
    /// Whether the solver is offered as the tool `find_all_correct_formulas` (Points24 while the target is
    /// NOT DETERMINED).
    public var offersTool: Bool

    /// The prompt text as one string (ledger column `prompt`).
    public var fullText: String { "[system]\n" + system + "\n[user]\n" + user }

    /// The prompt for a request: the questions its environment asks about the state (`correctorQuestions`).
    public static func make(for r: CorrectionRequest) -> CorrectorPrompt {
        let q = r.env.correctorQuestions(for: r.review)
        return CorrectorPrompt(system: q.system, user: q.user, questionCount: q.questionCount, hasTarget: q.hasTarget,
                               offersTool: q.offersTool)
    }

    /// The solver tool (`SolverTool`) as chat correctors offer it.
    public static var toolName: String { SolverTool.name }
    public static var toolDefinition: JSONValue { SolverTool.definition }
    public static func runTool(arguments: JSONValue) -> String { SolverTool.run(arguments: arguments) }

    /// Parses a reply's JSON content into the GTR fields. Throws a one-line reason when the reply is unusable
    /// (the chat corrector retries those a bounded number of times); `reply` changes only when the whole reply
    /// parses, so nothing of a rejected attempt survives into the next. Strict: a verdict must say YES or NO
    /// (its first word: "YES", "No.", "TRUE", "Correct"…); anything else is a malformed reply, never a NO. An
    /// unclear `possible_solution` ("unknown") is left unknown, and a `target_formula` that is no formula ("NOT
    /// DETERMINED") is no target. A YES needs no correction, so a broken one beside it is ignored.
    public func parseReply(_ content: String, into reply: inout CorrectorReply, env: Environment, agentAction: String?) throws {
        var r = reply
        r.answers = []; r.possibleSolution = nil; r.targetFormula = nil; r.correction = nil
        var text = content.trimmingCharacters(in: .whitespacesAndNewlines)
        // Models sometimes wrap JSON in a Markdown fence despite response_format.
        if text.hasPrefix("```") {
            text = text.split(separator: "\n", omittingEmptySubsequences: false).dropFirst()
                .filter { !$0.hasPrefix("```") }.joined(separator: "\n")
        }
        guard !text.isEmpty else { throw MalformedReply("empty reply content") }
        var v: JSONValue
        do { v = try JSONParser.parse(text) } catch { throw MalformedReply("reply is not JSON: \(error)") }
        guard case .object = v else { throw MalformedReply("reply is not a JSON object") }
        guard let ev = v["evaluation"]?.stringValue else { throw MalformedReply("reply has no \"evaluation\" string") }
        guard let yes = Self.yesNo(ev) else { throw MalformedReply("evaluation '\(ev.prefix(40))' is neither YES nor NO") }
        // A correction sent as a JSON string: use its object.
        if case let .string(s)? = v["correction"], let inner = try? JSONParser.parse(s), case .object = inner {
            v = v.replacing("correction", with: inner)
        }
        r.answers = (1...questionCount).map { i in
            switch v["answer\(i)"] {
            case let .string(s)?: return s
            case nil, .null?: return ""
            case let x?: return x.serialized()
            }
        }
        r.verdict = yes ? .correct : .incorrect
        if hasTarget {
            r.possibleSolution = v["possible_solution"]?.stringValue.flatMap(Self.yesNo)
            if let t = v["target_formula"]?.stringValue, Self.looksLikeFormula(t) { r.targetFormula = TargetFormula.normalize(t) }
        }
        if !yes, case .object(var pairs)? = v["correction"] {
            let missing = env.requiredKeys.filter { k in k != "action" && !pairs.contains { $0.0 == k } }
            guard missing.isEmpty else { throw MalformedReply("correction lacks \(missing.joined(separator: ", "))") }
            pairs.removeAll { $0.0 == "action" }
            if let a = agentAction { pairs.append(("action", .string(a))) }
            r.correction = .object(pairs)
        }
        reply = r
    }

    /// true for YES, false for NO, nil for anything else: the first word of the answer, in any case, with the
    /// usual synonyms ("true"/"correct", "false"/"incorrect").
    static func yesNo(_ s: String) -> Bool? {
        let word = s.trimmingCharacters(in: .whitespacesAndNewlines).prefix { $0.isLetter }.uppercased()
        if ["YES", "TRUE", "CORRECT"].contains(word) { return true }
        if ["NO", "FALSE", "INCORRECT", "WRONG"].contains(word) { return false }
        return nil
    }

    /// A formula: digits and arithmetic only (and an optional `= 24` tail), with at least one digit.
    static func looksLikeFormula(_ s: String) -> Bool {
        let t = s.trimmingCharacters(in: .whitespaces)
        return t.contains { $0.isNumber } && t.allSatisfy { "0123456789+-*/×÷()=. ".contains($0) }
    }
}

public struct MalformedReply: Error, CustomStringConvertible {
    public let reason: String
    /// The reply was cut at max_tokens (a retry with more tokens can help).
    public var truncated = false
    public init(_ reason: String, truncated: Bool = false) { self.reason = reason; self.truncated = truncated }
    public var description: String { reason }
}

extension JSONValue {
    /// A copy of an object with one key's value replaced (or appended).
    func replacing(_ key: String, with value: JSONValue) -> JSONValue {
        guard case var .object(pairs) = self else { return self }
        if let i = pairs.firstIndex(where: { $0.0 == key }) { pairs[i].1 = value } else { pairs.append((key, value)) }
        return .object(pairs)
    }
}
