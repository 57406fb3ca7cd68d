/// Cards drawn in a terminal: ANSI boxes with coloured suits, or a plain `[HJ] [D6]` line when colour is off
/// (NO_COLOR set or stdout not a tty), so piped transcripts stay stable.
public enum TerminalCards {
    public static func row(_ cards: [Card], ansi: Bool, hidden: Int = 0) -> String {
        guard ansi else {
            return (cards.map { "[\($0.description)]" } + Array(repeating: "[??]", count: hidden)).joined(separator: " ")
        }
        let red = "\u{1B}[31m", reset = "\u{1B}[0m", bold = "\u{1B}[1m"
        var lines = ["", "", "", "", ""]
        func pad(_ s: String, _ n: Int, left: Bool) -> String {
            let p = String(repeating: " ", count: max(0, n - s.count))
            return left ? s + p : p + s
        }
        for c in cards {
            let col = c.suit.isRed ? red : ""
            lines[0] += "╭─────╮ "
            lines[1] += "│\(bold)\(col)\(pad(c.rankLabel, 5, left: true))\(reset)│ "
            lines[2] += "│  \(col)\(c.suit.symbol)\(reset)  │ "
            lines[3] += "│\(bold)\(col)\(pad(c.rankLabel, 5, left: false))\(reset)│ "
            lines[4] += "╰─────╯ "
        }
        for _ in 0..<hidden {
            lines[0] += "╭─────╮ "; lines[1] += "│░░░░░│ "; lines[2] += "│░░░░░│ "; lines[3] += "│░░░░░│ "; lines[4] += "╰─────╯ "
        }
        return lines.map { String($0.dropLast()) }.joined(separator: "\n")
    }
}
