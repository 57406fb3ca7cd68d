import Support

/// The facts of a state that card-recognition accuracy is measured against: what a perfect reader of the frame
/// reports ("cards" for the formula games, the two numbers for NumberLine, nothing for the other games).
public struct StateFacts: Sendable, Equatable {
    public var cards: [Int]?
    public var current: Int?
    public var target: Int?

    public init(cards: [Int]? = nil, current: Int? = nil, target: Int? = nil) {
        self.cards = cards; self.current = current; self.target = target
    }

    /// The facts of an environment's current state (`env.stateFacts`).
    public static func of(_ env: Environment) -> StateFacts { env.stateFacts }

    /// Whether a parsed answer reads the state right; nil when the env has nothing to read (Blackjack's JSON has
    /// no card field) or the answer is not a JSON object.
    public func recognised(by json: JSONValue?) -> Bool? {
        guard let json, case .object = json else { return cards != nil || current != nil ? false : nil }
        if let cards {
            guard case let .array(items)? = json["cards"] else { return false }
            return items.map { $0.numberValue.map { Int($0) } ?? Int($0.stringValue ?? "") ?? -1 } == cards
        }
        if let current, let target {
            func num(_ k: String) -> Int? { json[k]?.numberValue.map { Int($0) } ?? json[k]?.stringValue.flatMap { Int($0) } }
            return num("current number") == current && num("target number") == target
        }
        return nil
    }
}

extension Environment {
    /// What card recognition is scored against in this state; empty facts for games with nothing to read.
    public var stateFacts: StateFacts {
        switch self {
        case let g as FormulaCardGame: return StateFacts(cards: g.numbers)
        case let n as NumberLine: return StateFacts(current: n.position, target: n.goal)
        default: return StateFacts()
        }
    }
}
