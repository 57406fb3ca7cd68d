import Environments
import Foundation

/// GTR's per-episode target formula (§5.4), with the fixes of §11: it is reset to NOT DETERMINED at *every*
/// episode start (bug 5), and formulas are compared after normalisation (no spaces, × ÷ → * /, no "= 24" tail),
/// so a corrector's harmless spelling does not count as a deviation (bug 13).
public struct TargetFormula: Sendable, Equatable {
    public static let notDetermined = "NOT DETERMINED"

    /// nil = NOT DETERMINED.
    public private(set) var formula: String?
    /// Set when the corrector judged the deal unsolvable (GTR's `cont = False`: the episode should end).
    public private(set) var unsolvable = false

    public init() {}

    public var display: String { formula ?? TargetFormula.notDetermined }

    /// Episode start.
    public mutating func reset() { formula = nil; unsolvable = false }

    /// What GTR does with a judged thought: adopt the thought's formula on YES when undetermined; on NO stop at
    /// an unsolvable deal, else follow the corrector's target. Returns true when the step earns an SFT label.
    @discardableResult
    public mutating func update(with reply: CorrectorReply) -> Bool {
        switch reply.verdict {
        case .none: return false
        case .correct:
            if formula == nil, let t = reply.targetFormula, !t.isEmpty { formula = TargetFormula.normalize(t) }
            return false
        case .incorrect:
            if reply.possibleSolution == false { unsolvable = true; return false }
            if let t = reply.targetFormula, !t.isEmpty { formula = TargetFormula.normalize(t) }
            return reply.correction != nil
        }
    }

    /// GTR's truncation rule 3, normalised: the written formula must be a prefix of the target.
    public func allows(currentFormula: String) -> Bool {
        guard let f = formula else { return false }
        return f.hasPrefix(TargetFormula.normalize(currentFormula))
    }

    /// No spaces, × → *, ÷ → /, and any "= …" tail dropped.
    public static func normalize(_ text: String) -> String {
        var s = text
        if let eq = s.firstIndex(of: "=") { s = String(s[..<eq]) }
        s = s.replacingOccurrences(of: "×", with: "*").replacingOccurrences(of: "÷", with: "/")
            .replacingOccurrences(of: "−", with: "-").replacingOccurrences(of: "x", with: "*").replacingOccurrences(of: "X", with: "*")
        return s.filter { !$0.isWhitespace && $0 != "'" && $0 != "`" }
    }

    /// Formula-like spans in free text (a thought): runs of digits, operators, brackets and spaces with at least
    /// two numbers and one operator, normalised and tokenised. "10+2)*(3-1) = 24" gives "10+2)*(3-1"; a span
    /// whose brackets do not balance is kept too, since it may be the rest of a formula already written.
    public static func candidates(in text: String) -> [(text: String, tokens: [FormulaToken])] {
        var out: [(String, [FormulaToken])] = []
        var run = ""
        func flush() {
            let t = normalize(run).trimmingCharacters(in: CharacterSet(charactersIn: "+-*/"))
            run = ""
            guard let tokens = FormulaEvaluator.tokenize(t) else { return }
            let numbers = tokens.filter(\.isNumber).count
            let ops = tokens.filter { if case let .symbol(c) = $0 { return "+-*/".contains(c) }; return false }.count
            if numbers >= 2, ops >= 1, !out.contains(where: { $0.0 == t }) { out.append((t, tokens)) }
        }
        for c in text {
            if c.isASCII && c.isNumber || "+-*/()×÷− ".contains(c) { run.append(c) } else { flush() }
        }
        flush()
        return out
    }
}
