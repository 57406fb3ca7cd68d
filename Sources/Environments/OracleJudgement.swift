import Support

/// The oracle corrector's answers to a game's corrector questions, worked out from the true state and the exact
/// solver (or planner) instead of the image. Deterministic given `rng`: the phrasing of a correction is drawn from
/// it, so the corrector seeds it from the request. Correctors wrap a judgement into their reply.
public struct OracleJudgement: Sendable {
    /// The answers to the game's questions, in order (`CorrectorQuestions.questionCount` of them).
    public var answers: [String] = []
    /// YES (true) or NO (false); nil when the oracle cannot judge this state (`failure` says why).
    public var correct: Bool?
    /// Games with a target formula: whether the deal can make the target at all.
    public var possibleSolution: Bool?
    /// Formula games: the formula the episode should follow (nil when none completes the written formula).
    public var targetFormula: String?
    /// On NO: the expert's thought for this state with the agent's own action appended last (GTR §5.5); nil when
    /// there is nothing better to say (an unsolvable Points24 deal).
    public var correction: JSONValue?
    public var failure: String?

    public init() {}

    /// The expert's output could not be turned into a correction.
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }
}

/// A game the oracle can judge.
protocol OracleJudged {
    func judge(_ r: ReviewedThought, rng: inout SeededRNG) throws -> OracleJudgement
}

extension Environment {
    /// The oracle's judgement of a thought about this state; nil when the game has no oracle.
    public func oracleJudgement(of r: ReviewedThought, rng: inout SeededRNG) throws -> OracleJudgement? {
        guard let g = self as? OracleJudged else { return nil }
        return try g.judge(r, rng: &rng)
    }
}

extension OracleJudgement {
    /// The expert's JSON with its action replaced by the agent's own (GTR keeps the executed action).
    static func correction(from expertText: String, agentAction: String?) throws -> JSONValue {
        guard case var .object(pairs) = try JSONParser.parse(expertText) else { throw Failure(description: "expert output is not an object") }
        pairs.removeAll { $0.0 == "action" }
        if let a = agentAction { pairs.append(("action", .string(a))) }
        return .object(pairs)
    }

    /// Card values named in a thought: numbers, or rank strings ("A", "J", "10"); nil when it lists no cards.
    public static func cardValues(_ v: JSONValue?) -> [Int]? {
        guard case let .array(items)? = v else { return nil }
        var out: [Int] = []
        for item in items {
            switch item {
            case let .number(n): out.append(n >= 11 && n <= 13 ? 10 : Int(n))
            case let .string(s): guard let n = Card.value10(ofRank: s) else { return nil }; out.append(n)
            default: return nil
            }
        }
        return out
    }
}
