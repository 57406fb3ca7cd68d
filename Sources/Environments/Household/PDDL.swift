/// An s-expression of a PDDL file: an atom (lower-cased, as Fast Downward reads names) or a list.
public indirect enum SExpr: Equatable, Sendable, CustomStringConvertible {
    case atom(String)
    case list([SExpr])

    public var atom: String? { if case let .atom(a) = self { return a }; return nil }
    public var items: [SExpr] { if case let .list(l) = self { return l }; return [] }
    public var head: String? { items.first?.atom }

    public var description: String {
        switch self {
        case let .atom(a): return a
        case let .list(l): return "(" + l.map(\.description).joined(separator: " ") + ")"
        }
    }
}

public struct PDDLError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { "PDDL: " + message }
}

/// Reads PDDL text into s-expressions: `;` comments, case folded, bounded depth.
public enum PDDLReader {
    public static func parse(_ text: String) throws -> [SExpr] {
        var stack: [[SExpr]] = [[]]
        var token = ""
        func flush() {
            if !token.isEmpty { stack[stack.count - 1].append(.atom(token.lowercased())); token = "" }
        }
        var inComment = false
        for c in text {
            if inComment { if c == "\n" { inComment = false }; continue }
            switch c {
            case ";": flush(); inComment = true
            case "(":
                flush()
                guard stack.count < 200 else { throw PDDLError("nesting deeper than 200") }
                stack.append([])
            case ")":
                flush()
                guard stack.count > 1 else { throw PDDLError("unbalanced ')'") }
                let done = stack.removeLast()
                stack[stack.count - 1].append(.list(done))
            case " ", "\n", "\t", "\r": flush()
            default: token.append(c)
            }
        }
        flush()
        guard stack.count == 1 else { throw PDDLError("\(stack.count - 1) unclosed '('") }
        return stack[0]
    }
}

/// A PDDL problem of the ALFRED domain: typed objects, the initial facts and the goal formula.
public struct PDDLProblem: Sendable {
    /// name → type (agent, location, receptacle, object, rtype, otype).
    public var objects: [(name: String, type: String)]
    public var initial: [[String]]
    public var goal: SExpr

    public static func parse(_ text: String) throws -> PDDLProblem {
        guard let define = try PDDLReader.parse(text).first(where: { $0.head == "define" }) else {
            throw PDDLError("no (define (problem …) …)")
        }
        var objects: [(String, String)] = []
        var initial: [[String]] = []
        var goal: SExpr?
        for section in define.items.dropFirst() {
            switch section.head {
            case ":objects":
                // a b - type c - type2
                var pending: [String] = []
                var items = section.items.dropFirst().compactMap(\.atom)[...]
                while let a = items.popFirst() {
                    if a == "-" {
                        guard let t = items.popFirst() else { throw PDDLError("':objects' ends after '-'") }
                        objects += pending.map { ($0, t) }; pending = []
                    } else { pending.append(a) }
                }
                objects += pending.map { ($0, "object") }
            case ":init":
                for f in section.items.dropFirst() {
                    if f.head == "=" { continue }   // (= (total-cost) 0)
                    let atoms = f.items.compactMap(\.atom)
                    guard atoms.count == f.items.count, !atoms.isEmpty else { throw PDDLError("unsupported initial fact \(f)") }
                    initial.append(atoms)
                }
            case ":goal": goal = section.items.dropFirst().first
            default: continue
            }
        }
        guard let goal else { throw PDDLError("no :goal") }
        return PDDLProblem(objects: objects, initial: initial, goal: goal)
    }
}
