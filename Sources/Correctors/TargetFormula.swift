import Environments
import Foundation

/// GTR's per-episode target formula (§5.4), with the fixes of §11: it is reset to NOT DETERMINED at *every*
/// episode start (bug 5), and formulas are compared after normalisation (no spaces, × ÷ → * /, no "= 24" tail),
/// so a corrector's harmless spelling does not count as a deviation (bug 13).
public struct TargetFormula: Sendable, Equatable {
    public static let notDetermined = CorrectorQuestions.notDetermined

    /// nil = NOT DETERMINED.
    public private(set) var formula: String?
    /// Set when the corrector judged the deal unsolvable (GTR's `cont = False`: the episode should end).
    public private(set) var unsolvable = false

    public init() {}

    /// A target restored from a checkpoint (`formula` as `formula` reported it).
    public init(formula: String?, unsolvable: Bool) { self.formula = formula; self.unsolvable = unsolvable }

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

    /// No spaces, × → *, ÷ → /, and any "= …" tail dropped (`FormulaText.normalize`).
    public static func normalize(_ text: String) -> String { FormulaText.normalize(text) }

    /// Formula-like spans in free text (`FormulaText.candidates`).
    public static func candidates(in text: String) -> [(text: String, tokens: [FormulaToken])] { FormulaText.candidates(in: text) }
}
