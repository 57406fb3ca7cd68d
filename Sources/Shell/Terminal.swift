import Foundation

/// Colour decisions and small ANSI helpers. Colour is on only when stdout is a terminal and NO_COLOR is unset.
public struct Style: Sendable {
    public var color: Bool
    public init(color: Bool) { self.color = color }

    public static func detect() -> Style {
        let env = ProcessInfo.processInfo.environment
        let noColor = env["NO_COLOR"].map { !$0.isEmpty } ?? false
        return Style(color: !noColor && isatty(STDOUT_FILENO) == 1 && env["TERM"] != "dumb")
    }

    func wrap(_ s: String, _ code: String) -> String { color ? "\u{1B}[\(code)m\(s)\u{1B}[0m" : s }
    func bold(_ s: String) -> String { wrap(s, "1") }
    func red(_ s: String) -> String { wrap(s, "31") }
    func green(_ s: String) -> String { wrap(s, "32") }
    func yellow(_ s: String) -> String { wrap(s, "33") }
    func dim(_ s: String) -> String { wrap(s, "2") }
}

/// Formats a reward or return: integers without a fraction, others with up to 4 decimals.
func fmt(_ d: Double) -> String {
    if d.isNaN { return "nan" }
    if d == d.rounded(), abs(d) < 1e15 { return String(Int64(d)) }
    return String(format: "%.4g", d)
}
