import Foundation

/// Formulas as people and models write them in free text: normalisation (so a harmless spelling is not a
/// different formula, GTR §11 bug 13) and the formula-like spans of a thought.
public enum FormulaText {
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
