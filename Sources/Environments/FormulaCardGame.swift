import Support

/// The rules Points24 and EZPoints share (gym-cards `points.py` / `ezpoints.py`): cards on the table, a formula
/// list that actions append to, number reuse checked against the deal, `=` evaluates.
open class FormulaCardGame: EnvironmentBase {
    public internal(set) var cards: [Card] = []
    /// Card values as the game counts them (J/Q/K → 10 unless the 13-rank variant is on).
    public internal(set) var numbers: [Int] = []
    public internal(set) var formula: [FormulaToken] = []
    public internal(set) var usedNumbers: [Int] = []
    /// The exact value of the last `=` evaluation, or the reason it failed.
    public internal(set) var lastEvaluation: Result<Rational, FormulaError>?

    let target: Int
    let cardCount: Int
    /// gym-cards truncates when the formula already has more than this many entries.
    let maxFormulaLength: Int
    var allowedNumbers: [Int]
    let operatorActions: [String]

    init(target: Int, cardCount: Int, maxFormulaLength: Int, allowedNumbers: [Int], operators: [String]) {
        self.target = target; self.cardCount = cardCount; self.maxFormulaLength = maxFormulaLength
        self.allowedNumbers = allowedNumbers; self.operatorActions = operators
    }

    public var actions: [String] { allowedNumbers.map(String.init) + operatorActions }
    public var legalActions: [String] { actions }
    public var requiredKeys: [String] { ["cards", "formula", "thoughts", "action"] }
    public var invalidReward: Double { -1 }

    /// The formula as the prompt shows it: entries joined with no separator (blanks stay blanks).
    public var formulaText: String { formula.map(\.description).joined() }

    public var info: JSONValue {
        var pairs: [(String, JSONValue)] = [
            ("Cards", .array(cards.map { .string($0.description) })),
            ("Numbers", .array(numbers.map { .number(Double($0)) })),
            ("Formula", .array(formula.map { t in
                if case let .number(n) = t { return .number(Double(n)) }
                return .string(t.description)
            })),
        ]
        switch lastEvaluation {
        case let .success(v)?: pairs.append(("Value", .string(v.description)))
        case let .failure(e)?: pairs.append(("Error", .string(e.description)))
        case nil: break
        }
        return .object(pairs)
    }

    func startEpisode(cards: [Card], countFaceAsTen: Bool) {
        self.cards = cards
        numbers = cards.map { countFaceAsTen ? $0.value10 : $0.rank }
        formula = []; usedNumbers = []; lastEvaluation = nil
    }

    /// One gym-cards step, in gym-cards' order: length check, number-reuse check, `=`, append.
    func formulaStep(_ action: String) throws -> (reward: Double, terminated: Bool, truncated: Bool) {
        guard actions.contains(action) else { throw EnvironmentError.unknownAction(action, legal: actions) }
        if formula.count > maxFormulaLength { return (-1, false, true) }
        if let n = Int(action) {
            let wouldUse = usedNumbers.filter { $0 == n }.count + 1
            if wouldUse > numbers.filter({ $0 == n }).count {
                formula.append(.blank)
                return (-1, false, false)
            }
            usedNumbers.append(n)
            formula.append(.number(n))
            return (0, false, false)
        }
        if action == "=" {
            var reward = -1.0
            do {
                let v = try FormulaEvaluator.evaluate(formula)
                lastEvaluation = .success(v)
                if v == Rational(target) { reward = 10 }
            } catch let e as FormulaError {
                lastEvaluation = .failure(e)
            }
            if usedNumbers.count != cardCount { reward = -1 }
            return (reward, true, false)
        }
        formula.append(.symbol(Character(action)))
        return (0, false, false)
    }

    func drawTable(cardWidth w: Int, cardHeight h: Int, y: Int, on img: inout RGBImage) {
        for (i, c) in cards.enumerated() {
            CardPainter.draw(c, x: 5 + Int(Double(i * w) * 1.1), y: y, w: w, h: h, on: &img)
        }
    }

    /// The text view shared by the points games.
    /// The hand as text mode's prompt names it: `'A', '3', '10', 'K'` (the ranks as the cards show them).
    public var cardsInWords: String { cards.map { "'\($0.rankLabel)'" }.joined(separator: ", ") }

    public var textObservation: String {
        let f = formula.isEmpty ? "(empty)" : formula.map(\.description).joined(separator: " ")
        var s = "Cards: \(cards.map(\.description).joined(separator: " ")) (numbers \(numbers.map(String.init).joined(separator: " "))) | Formula: \(f)"
        if isDone, let e = lastEvaluation {
            switch e {
            case let .success(v): s += " | = \(v)"
            case let .failure(err): s += " | = invalid (\(err))"
            }
        }
        return s
    }

    public func project(_ text: String) -> ProjectedAction {
        projectAction(text, keywords: actions, pointsRules: true)
    }

    public func randomLegalAction() -> String { rng.pick(actions) }

    /// Terminal view: ANSI card boxes when `ansi`, plain text otherwise.
    public func terminalView(ansi: Bool) -> String {
        TerminalCards.row(cards, ansi: ansi) + "\n" + textObservation
    }

    func parseDeal(_ spec: String) throws -> [Card] {
        let parts = spec.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }
        let parsed = parts.map { Card($0) }
        guard parts.count == cardCount, parsed.allSatisfy({ $0 != nil }) else {
            throw EnvironmentError.badOption("cards=\(spec): expected \(cardCount) cards like HJ,DJ,S6,DK (suit H/S/D/C then A,2-9,T/10,J,Q,K)")
        }
        return parsed.map { $0! }
    }

    func copyGame(to o: FormulaCardGame) {
        copyBase(to: o)
        o.cards = cards; o.numbers = numbers; o.formula = formula; o.usedNumbers = usedNumbers
        o.lastEvaluation = lastEvaluation; o.allowedNumbers = allowedNumbers
    }
}

import Foundation
