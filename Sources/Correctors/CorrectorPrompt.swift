import Environments
import Foundation
import Support

/// The GTR corrector prompt for each env (§5.2 table): a system prompt restating the game, then the evaluation
/// questions, the reply schema and the data lines. Written for gtr after the structure of GTR's prompts; the
/// oracle records the same text in the ledger, so every corrector's row says exactly what was asked.
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

    static let closing = "Please briefly answer the above questions, then give your final evaluation. If the thought is "
        + "incorrect, use all available information to correct it: determine the next proper action"

    public static func make(for r: CorrectionRequest) -> CorrectorPrompt {
        let thought = "[Thought] " + r.thoughtText
        let formula = "[Current Formula] '\(r.currentFormula ?? "")'"
        switch r.env {
        case is Points24:
            let target = r.targetFormula ?? TargetFormula.notDetermined
            let undetermined = r.targetFormula == nil
            let system = "You are an expert 24 points card game player. Four cards are dealt; 'A' counts as 1 and 'J', 'Q', 'K' "
                + "count as 10. A player builds a formula one number or operator at a time ('+', '-', '*', '/', '(', ')'), must "
                + "use every card exactly once, and finishes with '=' when the formula equals 24."
            let user = """
            You will be given an image of the four cards, the current formula, the target formula and the thought of a player \
            about what to append next. The player's thought may be wrong, please evaluate its correctness by the following aspects:
            1. What are the four cards in the image? If the target formula is 'NOT DETERMINED', call the tool \
            find_all_correct_formulas with the four cards and remember its results.
            2. Do the ranks of the cards in the player's thought match the cards in the image (in any order)?
            3. Which formula does the thought propose? Does it match the target formula, or, when the target is 'NOT \
            DETERMINED', one of the formulas the tool returned that starts with the current formula?
            4. What is the correct next single number or operator to append to the current formula, or '=' if it is complete?
            \(closing) (the next single number or character to append) and finally provide the correct thought.
            Reply with one JSON object: {"answer1": "...", "answer2": "...", "answer3": "...", "answer4": "...", \
            "evaluation": "YES" or "NO", "possible_solution": "YES" or "NO" (can the four cards make 24 at all?), \
            "target_formula": "the full formula to follow", "correction": {"cards": [...], "formula": "...", "thoughts": "..."} or null}
            \(formula)
            \(thought)
            [Target Formula] '\(target)'
            """
            return CorrectorPrompt(system: system, user: user, questionCount: 4, hasTarget: true, offersTool: undetermined)
        case is EZPoints:
            let system = "You are an expert card game player. Two cards are dealt; 'J', 'Q', 'K' count as 10. A player builds a "
                + "formula with '+' and '*' one number or operator at a time, must use both cards, and finishes with '=' when it equals 12."
            let user = """
            You will be given an image of the two cards, the current formula and the thought of a player about what to append \
            next. The player's thought may be wrong, please evaluate its correctness by the following aspects:
            1. What are the two cards in the image? Do the ranks in the player's thought match them (in any order)?
            2. Which formula does the thought propose, and does it evaluate to 12?
            3. What is the correct next single number or operator to append to the current formula, or '=' if it is complete?
            \(closing) (the next single number or character to append) and finally provide the correct thought.
            Reply with one JSON object: {"answer1": "...", "answer2": "...", "answer3": "...", "evaluation": "YES" or "NO", \
            "correction": {"cards": [...], "formula": "...", "thoughts": "..."} or null}
            \(formula)
            \(thought)
            """
            return CorrectorPrompt(system: system, user: user, questionCount: 3, hasTarget: false, offersTool: false)
        case is NumberLine:
            let system = "You are playing a number line game: the image shows a current number and a target number; '+' adds one "
                + "and '-' subtracts one, and the goal is to move the current number to the target."
            let user = """
            You will be given an image of the game and the thought of a player. The player's thought may be wrong, please \
            evaluate its correctness by the following aspects:
            1. What are the current number and the target number in the image? Does the thought state them correctly?
            2. Which action, '+' or '-', brings the current number closer to the target?
            \(closing) ('+' or '-') and finally provide the correct thought.
            Reply with one JSON object: {"answer1": "...", "answer2": "...", "evaluation": "YES" or "NO", \
            "correction": {"current number": n, "target number": n, "thoughts": "..."} or null}
            \(thought)
            """
            return CorrectorPrompt(system: system, user: user, questionCount: 2, hasTarget: false, offersTool: false)
        case is Blackjack:
            let system = "You are an expert blackjack player (dealer stands on 17, aces count 1 or 11, face cards 10). The player "
                + "chooses 'hit' or 'stand' and wins by getting closer to 21 than the dealer without going over."
            let user = """
            You will be given an image of the table (the dealer's up card and the player's cards) and the thought of a player. \
            The player's thought may be wrong, please evaluate its correctness by the following aspects:
            1. What are the player's cards and total, and the dealer's visible card and points? Does the thought state them correctly?
            2. Which action, 'hit' or 'stand', gives the player the best chance to win?
            \(closing) ('hit' or 'stand') and finally provide the correct thought.
            Reply with one JSON object: {"answer1": "...", "answer2": "...", "evaluation": "YES" or "NO", \
            "correction": {"thoughts": "..."} or null}
            \(thought)
            """
            return CorrectorPrompt(system: system, user: user, questionCount: 2, hasTarget: false, offersTool: false)
        case let h as Household:
            let system = "You are an expert in the ALFRED embodied environment: the player must navigate, take certain objects, "
                + "interact with objects if necessary (heat in a microwave, cool in a fridge, clean in a sink, turn on a lamp), and "
                + "finally put objects in the designated place."
            let admissible = h.legalActions.map { "'\($0)'" }.joined(separator: ", ")
            let previous = h.history.map { "'\($0)'" }.joined(separator: ", ")
            let user = """
            You will be given an image of what the player sees, its task, its previous actions, its admissible actions and its \
            thought. The player's thought may be wrong, please evaluate its correctness by the following aspects:
            1. What objects are visible, and is the player holding something? Does the thought identify the image correctly?
            2. Given the task and the previous actions, what should the next sub-goal be (pick up the object, heat, cool, \
            clean or light it if needed, then place it)? Is the thought aligned with it?
            3. Does the chosen admissible action reach that sub-goal and take effect? (If the target is not in sight, go to an \
            unexplored location; take the required objects; use the receptacles.)
            \(closing) (one of the admissible actions) and finally provide the correct thought.
            Reply with one JSON object: {"answer1": "...", "answer2": "...", "answer3": "...", "evaluation": "YES" or "NO", \
            "correction": {"thoughts": "..."} or null}
            [Task] \(h.task)
            [Previous Actions] [\(previous)]
            [Admissible Actions] [\(admissible)]
            [The player's thought] \(r.thoughtText)
            """
            return CorrectorPrompt(system: system, user: user, questionCount: 3, hasTarget: false, offersTool: false)
        default:
            let system = "You are judging the reasoning of a player in the game '\(r.env.name)'."
            let user = """
            You will be given an observation and the thought of a player. The player's thought may be wrong, please evaluate \
            its correctness:
            1. Does the thought describe the observation correctly?
            2. Is the chosen action a good next action?
            \(closing) and finally provide the correct thought.
            Reply with one JSON object: {"answer1": "...", "answer2": "...", "evaluation": "YES" or "NO", "correction": {...} or null}
            [Observation] \(r.observationText)
            \(thought)
            """
            return CorrectorPrompt(system: system, user: user, questionCount: 2, hasTarget: false, offersTool: false)
        }
    }

    /// The solver tool as an OpenAI function definition (strict schema, four rank strings).
    public static let toolName = "find_all_correct_formulas"
    public static var toolDefinition: JSONValue {
        let card: JSONValue = .object([("type", .string("string")),
                                       ("description", .string("rank of one card: 1-10, or A, J, Q, K"))])
        return .object([
            ("type", .string("function")),
            ("function", .object([
                ("name", .string(toolName)),
                ("description", .string("Returns every formula that makes 24 from four cards. Use it only when the target formula is NOT DETERMINED.")),
                ("strict", .bool(true)),
                ("parameters", .object([
                    ("type", .string("object")),
                    ("properties", .object((1...4).map { ("card\($0)", card) })),
                    ("required", .array((1...4).map { .string("card\($0)") })),
                    ("additionalProperties", .bool(false)),
                ])),
            ])),
        ])
    }

    /// Runs the tool: ranks J/Q/K/11/12/13 → 10, A → 1 (GTR's mapping), then the exact solver.
    public static func runTool(arguments: JSONValue) -> String {
        var numbers: [Int] = []
        for i in 1...4 {
            let v = arguments["card\(i)"]
            let text = v?.stringValue ?? v?.numberValue.map { String(Int($0)) } ?? ""
            guard let n = rankValue(text) else { return "Error: card\(i) '\(text)' is not a card rank (1-10, A, J, Q, K)" }
            numbers.append(n)
        }
        let sols = Solver.points24.solutions(numbers)
        return sols.isEmpty ? "No possible solution" : sols.map(\.text).joined(separator: ", ")
    }

    /// A rank as the card games count it: "A" → 1, J/Q/K and 11–13 → 10, "2"–"10" as is.
    static func rankValue(_ text: String) -> Int? {
        let t = text.trimmingCharacters(in: .whitespaces).uppercased()
        switch t {
        case "A", "ACE": return 1
        case "J", "Q", "K", "JACK", "QUEEN", "KING", "11", "12", "13": return 10
        default: if let n = Int(t), (1...10).contains(n) { return n }; return nil
        }
    }

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
