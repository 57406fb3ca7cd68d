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
/// Games without cards to name (NumberLine, Blackjack, the household tasks) have no relevance (nil).
public struct StateRelevance: Sendable, Equatable {
    public var namesCards: Bool
    public var consistentFormula: Bool
    public var relevant: Bool { namesCards && consistentFormula }

    public init(namesCards: Bool, consistentFormula: Bool) {
        self.namesCards = namesCards; self.consistentFormula = consistentFormula
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
        return StateRelevance(namesCards: names, consistentFormula: consistent)
    }
}

extension Environment {
    /// The state relevance of a thought written in the current state; nil for games without cards to name.
    public func stateRelevance(of thought: String) -> StateRelevance? {
        guard let g = self as? FormulaCardGame else { return nil }
        return StateRelevance.of(thought: thought, cards: g.numbers, written: g.formulaText)
    }
}
