/// Conditions for `while`, `if` and `expect`, evaluated over already-expanded words.
///
///     or   = and { "or" and }
///     and  = not { "and" not }
///     not  = "not" not | cmp
///     cmp  = atom [ ("==" | "!=" | "<" | "<=" | ">" | ">=") atom ]
///     atom = "(" or ")" | value
///
/// Two values compare as numbers when both parse as numbers, otherwise as strings. A lone value is true unless
/// it is empty, "false", "no" or a number equal to 0.
public enum Condition {
    public struct EvalError: Error, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }

    public static func evaluate(_ words: [String]) throws -> Bool {
        guard !words.isEmpty else { throw EvalError(message: "empty condition") }
        var p = P(w: words)
        let v = try p.or(depth: 0)
        guard p.i == words.count else { throw EvalError(message: "unexpected '\(words[p.i])' in condition") }
        return v
    }

    static func truthy(_ s: String) -> Bool {
        if let d = Double(s) { return d != 0 }
        let l = s.lowercased()
        return !(l.isEmpty || l == "false" || l == "no")
    }

    static let comparators: Set<String> = ["==", "!=", "<", "<=", ">", ">="]

    static func compare(_ a: String, _ op: String, _ b: String) -> Bool {
        if let x = Double(a), let y = Double(b) {
            switch op {
            case "==": return x == y
            case "!=": return x != y
            case "<": return x < y
            case "<=": return x <= y
            case ">": return x > y
            default: return x >= y
            }
        }
        switch op {
        case "==": return a == b
        case "!=": return a != b
        case "<": return a < b
        case "<=": return a <= b
        case ">": return a > b
        default: return a >= b
        }
    }

    private struct P {
        let w: [String]
        var i = 0

        mutating func or(depth: Int) throws -> Bool {
            guard depth < 64 else { throw EvalError(message: "condition nested too deeply") }
            var v = try and(depth: depth)
            while i < w.count, w[i] == "or" { i += 1; let r = try and(depth: depth); v = v || r }
            return v
        }

        mutating func and(depth: Int) throws -> Bool {
            var v = try not(depth: depth)
            while i < w.count, w[i] == "and" { i += 1; let r = try not(depth: depth); v = v && r }
            return v
        }

        mutating func not(depth: Int) throws -> Bool {
            if i < w.count, w[i] == "not" {
                guard depth < 64 else { throw EvalError(message: "condition nested too deeply") }
                i += 1; return !(try not(depth: depth + 1))
            }
            return try cmp(depth: depth)
        }

        mutating func cmp(depth: Int) throws -> Bool {
            if i < w.count, w[i] == "(" {
                i += 1
                let v = try or(depth: depth + 1)
                guard i < w.count, w[i] == ")" else { throw EvalError(message: "missing ')' in condition") }
                i += 1
                return v
            }
            guard i < w.count else { throw EvalError(message: "condition ends early") }
            let a = w[i]; i += 1
            if i < w.count, Condition.comparators.contains(w[i]) {
                let op = w[i]; i += 1
                guard i < w.count else { throw EvalError(message: "missing value after '\(op)'") }
                let b = w[i]; i += 1
                return Condition.compare(a, op, b)
            }
            return Condition.truthy(a)
        }
    }
}
