/// One entry of a card game's formula list, as gym-cards keeps it: a number, an operator or bracket, or the
/// blank that an invalid move appends.
public enum FormulaToken: Hashable, Sendable, CustomStringConvertible {
    case number(Int)
    case symbol(Character)  // + - * / ( )
    case blank

    public init?(_ text: String) {
        if text == " " { self = .blank; return }
        if let n = Int(text), n >= 0, String(n) == text { self = .number(n); return }
        if text.count == 1, let c = text.first, "+-*/()".contains(c) { self = .symbol(c); return }
        return nil
    }

    public var description: String {
        switch self {
        case let .number(n): return String(n)
        case let .symbol(c): return String(c)
        case .blank: return " "
        }
    }

    public var isNumber: Bool { if case .number = self { return true }; return false }
}

public enum FormulaError: Error, Equatable, CustomStringConvertible {
    case empty
    case unexpected(position: Int, token: String)
    case unexpectedEnd
    case unbalanced
    case adjacentNumbers(position: Int)
    case divisionByZero
    case overflow

    public var description: String {
        switch self {
        case .empty: return "empty formula"
        case let .unexpected(p, t): return "unexpected '\(t)' at token \(p + 1)"
        case .unexpectedEnd: return "formula ends in the middle of an expression"
        case .unbalanced: return "unbalanced parentheses"
        case let .adjacentNumbers(p): return "two numbers in a row at token \(p + 1) (no digit concatenation)"
        case .divisionByZero: return "division by zero"
        case .overflow: return "arithmetic overflow"
        }
    }
}

/// Exact evaluation of a formula list with Python's precedence (unary +/- allowed, as `eval` allows them).
/// Blanks are skipped like whitespace. Two numbers in a row are rejected: gym-cards' `eval` would read "2","4"
/// as 24, a loophole the GTR digest lists as a bug (§11.14); gtr closes it and documents the difference.
public enum FormulaEvaluator {
    public static func evaluate(_ tokens: [FormulaToken]) throws -> Rational {
        let toks = tokens.enumerated().filter { $0.element != .blank }
        guard !toks.isEmpty else { throw FormulaError.empty }
        var p = Parser(toks: toks.map { ($0.offset, $0.element) })
        let v = try p.expr(depth: 0)
        if p.i < p.toks.count {
            let (pos, t) = p.toks[p.i]
            if t == .symbol(")") { throw FormulaError.unbalanced }
            throw FormulaError.unexpected(position: pos, token: t.description)
        }
        return v
    }

    /// Parses a formula typed as text ("(10+2)*(3-1)", spaces allowed) into tokens.
    public static func tokenize(_ text: String) -> [FormulaToken]? {
        var out: [FormulaToken] = []
        var digits = ""
        for c in text {
            if c.isASCII, c.isNumber { digits.append(c); continue }
            if !digits.isEmpty { guard let n = Int(digits) else { return nil }; out.append(.number(n)); digits = "" }
            if c == " " { continue }
            let mapped: Character = c == "×" ? "*" : (c == "÷" ? "/" : c)
            guard "+-*/()".contains(mapped) else { return nil }
            out.append(.symbol(mapped))
        }
        if !digits.isEmpty { guard let n = Int(digits) else { return nil }; out.append(.number(n)) }
        return out
    }

    private struct Parser {
        let toks: [(Int, FormulaToken)]
        var i = 0

        init(toks: [(Int, FormulaToken)]) { self.toks = toks }

        mutating func expr(depth: Int) throws -> Rational {
            var v = try term(depth: depth)
            while i < toks.count, case let .symbol(c) = toks[i].1, c == "+" || c == "-" {
                i += 1
                v = try wrap { try v.applying(c, try term(depth: depth)) }
            }
            return v
        }

        mutating func term(depth: Int) throws -> Rational {
            var v = try unary(depth: depth)
            while i < toks.count, case let .symbol(c) = toks[i].1, c == "*" || c == "/" {
                i += 1
                let rhs = try unary(depth: depth)
                v = try wrap { try v.applying(c, rhs) }
            }
            return v
        }

        mutating func unary(depth: Int) throws -> Rational {
            if i < toks.count, case let .symbol(c) = toks[i].1, c == "+" || c == "-" {
                guard depth < 64 else { throw FormulaError.overflow }
                i += 1
                let v = try unary(depth: depth + 1)
                return c == "-" ? try wrap { try Rational(0).subtracting(v) } : v
            }
            return try factor(depth: depth)
        }

        mutating func factor(depth: Int) throws -> Rational {
            guard i < toks.count else { throw FormulaError.unexpectedEnd }
            let (pos, t) = toks[i]
            switch t {
            case let .number(n):
                i += 1
                if i < toks.count, toks[i].1.isNumber { throw FormulaError.adjacentNumbers(position: toks[i].0) }
                if i < toks.count, toks[i].1 == .symbol("(") { throw FormulaError.unexpected(position: toks[i].0, token: "(") }
                return Rational(n)
            case .symbol("("):
                guard depth < 64 else { throw FormulaError.overflow }
                i += 1
                let v = try expr(depth: depth + 1)
                guard i < toks.count, toks[i].1 == .symbol(")") else { throw FormulaError.unbalanced }
                i += 1
                if i < toks.count, toks[i].1.isNumber || toks[i].1 == .symbol("(") {
                    throw FormulaError.unexpected(position: toks[i].0, token: toks[i].1.description)
                }
                return v
            default:
                throw FormulaError.unexpected(position: pos, token: t.description)
            }
        }

        func wrap(_ f: () throws -> Rational) throws -> Rational {
            do { return try f() } catch Rational.Failure.divisionByZero { throw FormulaError.divisionByZero } catch Rational.Failure.overflow { throw FormulaError.overflow }
        }
    }
}
