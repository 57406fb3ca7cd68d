/// Whether a thought is about the state it was written in: the collapse diagnostic "state relevance" (GTR
/// describes collapsed thoughts as templated and state-irrelevant; the paper gives no formula, so gtr defines one).
///
/// For the formula games (Points24, EZPoints) a thought is *state-relevant* when both hold:
/// 1. **It names the dealt cards**: the card values written as numbers in the thought *outside its formulas*
///    contain the hand's values as a multiset (each value at least as often as dealt). Card letters ("Q") alone do
///    not count, and a formula's operands do not count, so a thought that is only a formula does not name the cards.
/// 2. **It has a formula consistent with the state**: some formula in the thought (a run of numbers, operators,
///    brackets and spaces holding at least one operator, up to an `=`) uses only the hand's values, none more
///    often than dealt, and begins with the formula written so far (spaces ignored; always true at the start).
///    The formula need not be a solution: relevance asks whether the reasoning is about this state, not whether
///    it is right.
///
/// For the household tasks a thought is state-relevant when it (1) names where the agent is (the name of a
/// receptacle at its location, e.g. "countertop 1", or "middle of the room" before it has gone anywhere) and (2)
/// names the object type the task is about (e.g. "plate"), both case-insensitive.
///
/// NumberLine and Blackjack have nothing comparable to name (nil).
public struct StateRelevance: Sendable, Equatable {
    /// Cards named (formula games); the agent's place named (household).
    public var namesState: Bool
    /// A formula consistent with the state (formula games); the task's object named (household).
    public var consistent: Bool
    public var relevant: Bool { namesState && consistent }

    public init(namesState: Bool, consistent: Bool) {
        self.namesState = namesState; self.consistent = consistent
    }

    /// A piece of a thought: a number, an operator or bracket, `=`, or anything else (a separator).
    enum Piece: Equatable { case number(Int), symbol(Character), equals, other }

    static func pieces(_ text: String) -> [(piece: Piece, text: String)] {
        var out: [(Piece, String)] = []
        var digits = ""
        func flush() {
            if !digits.isEmpty { out.append((Int(digits).map(Piece.number) ?? .other, digits)); digits = "" }
        }
        for c in text {
            if c.isASCII, c.isNumber { digits.append(c); continue }
            flush()
            switch c {
            case "+", "-", "*", "/", "(", ")", "×", "÷", "−": out.append((.symbol(c), String(c)))
            case "=": out.append((.equals, "="))
            case " ": out.append((.other, " "))
            default: out.append((.other, String(c)))
            }
        }
        flush()
        return out
    }

    /// The formulas of a thought (their text without spaces) and the numbers written outside them.
    static func split(_ text: String) -> (formulas: [String], looseNumbers: [Int]) {
        let ps = pieces(text)
        var formulas: [String] = []
        var loose: [Int] = []
        var i = 0
        while i < ps.count {
            // A formula run: numbers, symbols and single spaces between them.
            var j = i
            var run: [Piece] = []
            var textRun = ""
            while j < ps.count {
                let p = ps[j]
                if case .other = p.piece {
                    if p.text == " ", !run.isEmpty { j += 1; continue }
                    break
                }
                if case .equals = p.piece { break }
                run.append(p.piece); textRun += p.text; j += 1
            }
            let hasOperator = run.contains { if case let .symbol(c) = $0 { return c != "(" && c != ")" } else { return false } }
            let numbers = run.compactMap { if case let .number(n) = $0 { return n } else { return nil } }
            if hasOperator && !numbers.isEmpty {
                formulas.append(textRun)
            } else {
                loose += numbers
            }
            i = max(j, i + 1)
        }
        return (formulas, loose)
    }

    static func isSubMultiset(_ a: [Int], of b: [Int]) -> Bool {
        var counts: [Int: Int] = [:]
        for x in b { counts[x, default: 0] += 1 }
        for x in a { counts[x, default: 0] -= 1; if counts[x]! < 0 { return false } }
        return true
    }

    /// Relevance of `thought` to a hand with card values `cards` and the formula written so far.
    public static func of(thought: String, cards: [Int], written: String) -> StateRelevance {
        let (formulas, loose) = split(thought)
        let names = isSubMultiset(cards, of: loose)
        let prefix = written.filter { $0 != " " }
        let consistent = formulas.contains { f in
            let operands = pieces(f).compactMap { if case let .number(n) = $0.piece { return n } else { return nil } }
            return isSubMultiset(operands, of: cards) && f.hasPrefix(prefix)
        }
        return StateRelevance(namesState: names, consistent: consistent)
    }

    /// Relevance of a household thought: the agent's place (`places`: names of the receptacles where it stands; empty
    /// in the middle of the room) and the task's object type (PDDL's "appletype" or a plain "apple").
    public static func of(thought: String, places: [String], objectType type: String) -> StateRelevance {
        let t = thought.lowercased()
        var objectType = type.lowercased()
        if objectType.hasSuffix("type"), objectType.count > 4 { objectType.removeLast(4) }
        let place = places.isEmpty ? t.contains("middle of the room") : places.contains { t.contains($0.lowercased()) }
        return StateRelevance(namesState: place, consistent: !objectType.isEmpty && t.contains(objectType.lowercased()))
    }
}

extension Environment {
    /// The state relevance of a thought written in the current state; nil for games with nothing to name.
    public func stateRelevance(of thought: String) -> StateRelevance? {
        if let g = self as? FormulaCardGame { return StateRelevance.of(thought: thought, cards: g.numbers, written: g.formulaText) }
        if let h = self as? Household, let w = h.world, let goal = h.goal {
            return StateRelevance.of(thought: thought, places: w.here.map { w.name($0) }, objectType: goal.objectType)
        }
        return nil
    }
}
