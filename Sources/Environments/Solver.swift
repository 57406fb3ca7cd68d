import Foundation

/// An arithmetic expression tree over card numbers, as the solver enumerates them.
public indirect enum Expression: Sendable {
    case number(Int)
    case binary(Character, Expression, Expression)

    /// Tokens with only the brackets precedence needs: `8/(3-8/3)`.
    public var minimalTokens: [FormulaToken] { render(style: .minimal) }
    /// Tokens with every inner operation bracketed: `(8*3)*(2-1)`.
    public var fullTokens: [FormulaToken] { render(style: .full) }

    enum Style { case minimal, full, mixedPrecedence }

    func render(style: Style) -> [FormulaToken] {
        var out: [FormulaToken] = []
        emit(into: &out, style: style, parentOp: nil, isRight: false)
        return out
    }

    private static func level(_ op: Character) -> Int { op == "+" || op == "-" ? 1 : 2 }

    private func emit(into out: inout [FormulaToken], style: Style, parentOp: Character?, isRight: Bool) {
        switch self {
        case let .number(n): out.append(.number(n))
        case let .binary(op, l, r):
            var paren = false
            if let p = parentOp {
                switch style {
                case .full: paren = true
                case .mixedPrecedence:
                    paren = Expression.level(p) != Expression.level(op) || needsParens(op: op, parent: p, isRight: isRight)
                case .minimal: paren = needsParens(op: op, parent: p, isRight: isRight)
                }
            }
            if paren { out.append(.symbol("(")) }
            l.emit(into: &out, style: style, parentOp: op, isRight: false)
            out.append(.symbol(op))
            r.emit(into: &out, style: style, parentOp: op, isRight: true)
            if paren { out.append(.symbol(")")) }
        }
    }

    private func needsParens(op: Character, parent: Character, isRight: Bool) -> Bool {
        let (lo, lp) = (Expression.level(op), Expression.level(parent))
        if lo < lp { return true }
        if lo > lp { return false }
        // same level: only the right operand of '-' or '/' needs brackets
        return isRight && (parent == "-" || parent == "/")
    }

    /// A canonical key: sums and products are flattened (a-(b-c) ≡ a-b+c, a/(b/c) ≡ a*c/b) and their
    /// operands sorted, so commutative and associative rewrites of one solution share a key.
    public var canonicalKey: String { Normal(self).key }

    private indirect enum Normal {
        case num(Int)
        case sum([(Bool, Normal)])   // (positive?, term)
        case prod([(Bool, Normal)])  // (numerator?, factor)

        init(_ e: Expression) {
            switch e {
            case let .number(n): self = .num(n)
            case let .binary(op, l, r):
                let (nl, nr) = (Normal(l), Normal(r))
                if op == "+" || op == "-" {
                    self = .sum(Normal.terms(nl, sign: true) + Normal.terms(nr, sign: op == "+"))
                } else {
                    self = .prod(Normal.factors(nl, up: true) + Normal.factors(nr, up: op == "*"))
                }
            }
        }

        static func terms(_ n: Normal, sign: Bool) -> [(Bool, Normal)] {
            if case let .sum(ts) = n { return ts.map { (sign ? $0.0 : !$0.0, $0.1) } }
            return [(sign, n)]
        }

        static func factors(_ n: Normal, up: Bool) -> [(Bool, Normal)] {
            if case let .prod(fs) = n { return fs.map { (up ? $0.0 : !$0.0, $0.1) } }
            return [(up, n)]
        }

        var key: String {
            switch self {
            case let .num(n): return String(n)
            case let .sum(ts): return "S(" + ts.map { ($0.0 ? "+" : "-") + $0.1.key }.sorted().joined(separator: ",") + ")"
            case let .prod(fs): return "P(" + fs.map { ($0.0 ? "*" : "/") + $0.1.key }.sorted().joined(separator: ",") + ")"
            }
        }
    }
}

/// One distinct solution: a display formula and every written form the solver knows for it (operand orders,
/// bracket styles), which is what prefix matching needs.
public struct Solution: Sendable, CustomStringConvertible {
    public let key: String
    public let tokens: [FormulaToken]
    public let forms: [[FormulaToken]]
    public var text: String { tokens.map(\.description).joined() }
    public var description: String { text }

    /// Whether any written form of this solution starts with `prefix` (blanks ignored).
    public func completes(_ prefix: [FormulaToken]) -> Bool {
        let p = prefix.filter { $0 != .blank }
        return forms.contains { $0.count >= p.count && Array($0[0..<p.count]) == p }
    }

    /// The written forms that start with `prefix`; the first one is the suggested continuation.
    public func forms(startingWith prefix: [FormulaToken]) -> [[FormulaToken]] {
        let p = prefix.filter { $0 != .blank }
        return forms.filter { $0.count >= p.count && Array($0[0..<p.count]) == p }
    }
}

/// Exact solver for "make TARGET from these numbers with + - * / and brackets, each number once".
/// It enumerates every binary expression tree over the numbers (ordered pairs combined recursively), evaluates
/// with exact rationals, and groups the hits by `Expression.canonicalKey`.
public final class Solver: @unchecked Sendable {
    public let target: Rational
    public let operators: [Character]
    private var cache: [[Int]: [Solution]] = [:]
    private let lock = NSLock()

    public init(target: Int = 24, operators: [Character] = ["+", "-", "*", "/"]) {
        self.target = Rational(target)
        self.operators = operators
    }

    /// Shared solver for 24 with the four operations.
    public static let points24 = Solver()

    public func solvable(_ numbers: [Int]) -> Bool {
        var found = false
        search(numbers.map { (Expression.number($0), Rational($0)) }) { _ in found = true; return false }
        return found
    }

    /// Every distinct solution, sorted by formula length then text. Cached per multiset.
    public func solutions(_ numbers: [Int]) -> [Solution] {
        let key = numbers.sorted()
        lock.lock()
        if let hit = cache[key] { lock.unlock(); return hit }
        lock.unlock()
        var groups: [String: [Expression]] = [:]
        var order: [String] = []
        search(key.map { (Expression.number($0), Rational($0)) }) { e in
            let k = e.canonicalKey
            if groups[k] == nil { order.append(k) }
            groups[k, default: []].append(e)
            return true
        }
        var result: [Solution] = []
        for k in order {
            let exprs = groups[k]!
            let display = exprs.map(\.minimalTokens).min(by: Solver.shorterThenLexicographic)!
            var seen: Set<[FormulaToken]> = [display]
            var forms: [[FormulaToken]] = [display]
            for e in exprs {
                for style in [Expression.Style.minimal, .mixedPrecedence, .full] {
                    let t = e.render(style: style)
                    if seen.insert(t).inserted { forms.append(t) }
                }
            }
            result.append(Solution(key: k, tokens: display, forms: forms))
        }
        result.sort { Solver.shorterThenLexicographic($0.tokens, $1.tokens) }
        lock.lock(); cache[key] = result; lock.unlock()
        return result
    }

    /// The solutions one of whose written forms starts with `prefix`: what a corrector needs to judge a
    /// half-typed formula.
    public func completions(_ numbers: [Int], prefix: [FormulaToken]) -> [Solution] {
        solutions(numbers).filter { $0.completes(prefix) }
    }

    static func text(_ t: [FormulaToken]) -> String { t.map(\.description).joined() }

    static func shorterThenLexicographic(_ a: [FormulaToken], _ b: [FormulaToken]) -> Bool {
        if a.count != b.count { return a.count < b.count }
        return text(a) < text(b)
    }

    /// Depth-first over all ordered pairs; `visit` returns false to stop.
    @discardableResult
    private func search(_ items: [(Expression, Rational)], visit: (Expression) -> Bool) -> Bool {
        if items.count == 1 {
            if items[0].1 == target { return visit(items[0].0) }
            return true
        }
        for i in items.indices {
            for j in items.indices where j != i {
                var rest: [(Expression, Rational)] = []
                rest.reserveCapacity(items.count - 1)
                for k in items.indices where k != i && k != j { rest.append(items[k]) }
                let (a, b) = (items[i], items[j])
                for op in operators {
                    guard let v = try? a.1.applying(op, b.1) else { continue }
                    rest.append((.binary(op, a.0, b.0), v))
                    if !search(rest, visit: visit) { return false }
                    rest.removeLast()
                }
            }
        }
        return true
    }
}
