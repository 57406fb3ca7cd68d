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
    /// (the chat corrector retries those a bounded number of times).
    public func parseReply(_ content: String, into reply: inout CorrectorReply, env: Environment, agentAction: String?) throws {
        var text = content.trimmingCharacters(in: .whitespacesAndNewlines)
        // Models sometimes wrap JSON in a Markdown fence despite response_format.
        if text.hasPrefix("```") {
            text = text.split(separator: "\n", omittingEmptySubsequences: false).dropFirst()
                .filter { !$0.hasPrefix("```") }.joined(separator: "\n")
        }
        guard !text.isEmpty else { throw MalformedReply("empty reply content") }
        let v: JSONValue
        do { v = try JSONParser.parse(text) } catch { throw MalformedReply("reply is not JSON: \(error)") }
        guard case .object = v else { throw MalformedReply("reply is not a JSON object") }
        guard let ev = v["evaluation"]?.stringValue else { throw MalformedReply("reply has no \"evaluation\" string") }
        reply.answers = (1...questionCount).map { i in
            switch v["answer\(i)"] {
            case let .string(s)?: return s
            case nil, .null?: return ""
            case let x?: return x.serialized()
            }
        }
        reply.verdict = ev.lowercased().contains("yes") ? .correct : .incorrect
        if hasTarget {
            reply.possibleSolution = v["possible_solution"]?.stringValue.map { !$0.lowercased().contains("no") }
            if let t = v["target_formula"]?.stringValue { reply.targetFormula = TargetFormula.normalize(t) }
        }
        if case .object(var pairs)? = v["correction"] {
            let missing = env.requiredKeys.filter { k in k != "action" && !pairs.contains { $0.0 == k } }
            guard missing.isEmpty else { throw MalformedReply("correction lacks \(missing.joined(separator: ", "))") }
            pairs.removeAll { $0.0 == "action" }
            if let a = agentAction { pairs.append(("action", .string(a))) }
            reply.correction = .object(pairs)
        } else if reply.verdict == .incorrect, case let .string(s)? = v["correction"], let inner = try? JSONParser.parse(s), case .object = inner {
            // A correction sent as a JSON string: accept its object.
            var r2 = reply
            try parseReply(v.replacing("correction", with: inner).serialized(), into: &r2, env: env, agentAction: agentAction)
            reply = r2
        }
    }
}

public struct MalformedReply: Error, CustomStringConvertible {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
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
