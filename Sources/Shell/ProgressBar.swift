import Foundation

/// A one-line progress bar: redrawn in place on a terminal, printed every 10 % otherwise (logs and pipes). A bar
/// drawn in place always ends its line (`finish`), so the next output starts on a line of its own.
struct ProgressBar {
    let total: Int
    let label: String
    let live: Bool
    let emit: (String, Bool) -> Void  // (text, final line?)
    private var lastDecile = -1
    private var lastText: String?
    private var open = false

    init(total: Int, label: String, live: Bool, emit: @escaping (String, Bool) -> Void) {
        self.total = max(1, total); self.label = label; self.live = live; self.emit = emit
    }

    mutating func update(_ done: Int, _ detail: String) {
        let frac = Double(min(done, total)) / Double(total)
        let width = 24
        let filled = Int(frac * Double(width))
        let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
        let text = "\(label) [\(bar)] \(done)/\(total) \(detail)"
        lastText = text
        if live {
            open = done < total
            emit("\r\u{1B}[K" + text, done >= total)
        } else {
            let decile = Int(frac * 10)
            if decile != lastDecile { lastDecile = decile; emit(text, true) }
        }
    }

    /// Ends a bar left open (an interrupted job): the line is closed with its last state.
    mutating func finish() {
        guard live, open, let t = lastText else { return }
        open = false
        emit("\r\u{1B}[K" + t, true)
    }
}

/// A text sparkline of a series, `width` buckets (mean per bucket), with the first and last values.
func sparkline(_ values: [Float], width: Int = 40) -> String {
    guard !values.isEmpty else { return "" }
    let n = min(width, values.count)
    var buckets: [Float] = []
    for i in 0..<n {
        let lo = i * values.count / n, hi = max(lo + 1, (i + 1) * values.count / n)
        buckets.append(values[lo..<hi].reduce(0, +) / Float(hi - lo))
    }
    let lo = buckets.min()!, hi = buckets.max()!
    let ticks = Array("▁▂▃▄▅▆▇█")
    return String(buckets.map { ticks[hi > lo ? min(7, Int(($0 - lo) / (hi - lo) * 7.999)) : 0] })
}
