/// A metric's trend in one line of text, for the terminal: one block character per value, its height the value's
/// place between the smallest and largest (▁ lowest, █ highest).
public enum Sparkline {
    /// The eight heights, lowest first.
    public static let blocks: [Character] = ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"]

    /// One character per value; a non-finite value is a space. With `width`, a longer series is first averaged
    /// down to `width` buckets of consecutive values (non-finite values left out of the average; a bucket of only
    /// those is a space); a shorter one is left as it is. All-equal values draw at mid height, since there is no
    /// trend to show. A width of zero or less gives the empty string.
    public static func line(_ values: [Double], width: Int? = nil) -> String {
        let shown = width.map { resampled(values, to: $0) } ?? values
        let finite = shown.filter(\.isFinite)
        guard let lo = finite.min(), let hi = finite.max() else { return String(repeating: " ", count: shown.count) }
        // Halves so the span cannot overflow.
        let span = hi / 2 - lo / 2
        return String(shown.map { v -> Character in
            guard v.isFinite else { return " " }
            guard span > 0 else { return blocks[3] }
            let level = ((v / 2 - lo / 2) / span * Double(blocks.count - 1)).rounded()
            return blocks[Int(min(Double(blocks.count - 1), max(0, level)))]
        })
    }

    /// The sparkline followed by the range and the latest value, e.g. "▁▃▅█ min 0.1 max 0.9 last 0.85": how a
    /// metric reads in one terminal line. No values give "(no values)"; no finite ones, the line of spaces and
    /// "(no finite values)".
    public static func summary(_ values: [Double], width: Int? = nil) -> String {
        guard let last = values.last else { return "(no values)" }
        let finite = values.filter(\.isFinite)
        guard let lo = finite.min(), let hi = finite.max() else { return line(values, width: width) + " (no finite values)" }
        return line(values, width: width) + " min " + ChartTicks.compact(lo) + " max " + ChartTicks.compact(hi)
            + " last " + ChartTicks.compact(last)
    }

    /// `values` averaged down to `width` buckets of consecutive values, the first buckets no longer than the
    /// later ones; unchanged when it already fits.
    static func resampled(_ values: [Double], to width: Int) -> [Double] {
        guard width > 0 else { return [] }
        guard values.count > width else { return values }
        return (0..<width).map { bucket in
            let start = bucket * values.count / width, end = (bucket + 1) * values.count / width
            let finite = values[start..<end].filter(\.isFinite)
            guard !finite.isEmpty else { return .nan }
            // A running mean, each step on shares of the values, so huge ones of either sign cannot overflow.
            var mean = 0.0
            for (i, v) in finite.enumerated() { mean += v / Double(i + 1) - mean / Double(i + 1) }
            return mean
        }
    }
}
