/// Every error the shell reports, as one line with its source position.
public enum ShellError: Error, CustomStringConvertible {
    case syntax(ShellSyntaxError)
    case failed(SourcePosition?, String)
    case expectation(SourcePosition, String)
    case interrupted
    case budgetExceeded

    public var description: String {
        switch self {
        case let .syntax(e): return "\(e.position): syntax error: \(e.message)"
        case let .failed(p, m): return p.map { "\($0): \(m)" } ?? m
        case let .expectation(p, m): return "\(p): expectation failed: \(m)"
        case .interrupted: return "interrupted"
        case .budgetExceeded: return "statement budget exceeded"
        }
    }
}

/// A command's own error, positioned by the interpreter.
struct CommandError: Error, CustomStringConvertible {
    let message: String
    init(_ m: String) { message = m }
    var description: String { message }
}
