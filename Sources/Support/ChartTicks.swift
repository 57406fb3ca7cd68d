import Foundation

/// Axis ticks at "nice" numbers, 1, 2 or 5 × 10^k apart, and their labels: what a reader expects to see along a
/// chart's axis (0, 0.2, 0.4 … rather than 0, 0.173, 0.346 …).
public struct ChartTicks: Equatable, Sendable {
    /// The tick values inside the requested range, ascending.
    public let values: [Double]
    /// The distance between neighbouring ticks; 0 when the range was a single value or too wide to step through.
    public let step: Double

    /// About `count` intervals (never fewer than one) between `lo` and `hi`, in either order. Only ticks inside the
    /// range are kept, so its ends need not be ticks. A single value gives one tick; a non-finite end gives none; a
    /// span too wide for a Double gives just the two ends.
    public init(from lo: Double, to hi: Double, count: Int = 5) {
        guard lo.isFinite, hi.isFinite else { values = []; step = 0; return }
        let (a, b) = lo <= hi ? (lo, hi) : (hi, lo)
        guard a < b else { values = [a]; step = 0; return }
        guard let (mantissa, exponent) = Self.niceStep(span: b - a, count: max(1, count)) else {
            values = [a, b]; step = 0; return
        }
        // A tick is k·mantissa·10^exponent; for a negative exponent divide by the exact integer 10^-exponent,
        // so the tick is the Double nearest its decimal value (0.6, not 0.6000000000000001).
        func tick(_ k: Double) -> Double {
            exponent < 0 ? k * mantissa / pow(10, Double(-exponent)) : k * mantissa * pow(10, Double(exponent))
        }
        let step = tick(1)
        // A hair of slack so an end that is a tick in decimal (0.3 with step 0.1) is not lost to rounding.
        let first = (a / step - 1e-9).rounded(.up), last = (b / step + 1e-9).rounded(.down)
        guard first.isFinite, last.isFinite, first <= last, last - first <= 1000 else {
            values = [a, b]; self.step = 0; return
        }
        var ticks: [Double] = []
        var k = first
        while k <= last, ticks.count <= 1000 {
            let v = tick(k)
            if v >= a - step * 1e-6, v <= b + step * 1e-6 { ticks.append(v == 0 ? 0 : v) }  // no "-0"
            let next = k + 1
            if next == k { break }  // beyond 2^53 counting stalls
            k = next
        }
        values = ticks; self.step = step
    }

    /// The step's leading digit (1, 2 or 5) and power of ten for cutting `span` into about `count` pieces.
    static func niceStep(span: Double, count: Int) -> (mantissa: Double, exponent: Int)? {
        let raw = span / Double(count)
        guard raw.isFinite, raw > 0 else { return nil }
        var exponent = Int(log10(raw).rounded(.down))
        let scaled = raw / pow(10, Double(exponent))
        guard scaled.isFinite, scaled > 0 else { return nil }
        let mantissa: Double
        switch scaled {
        case ...1.000001: mantissa = 1
        case ...2.000001: mantissa = 2
        case ...5.000001: mantissa = 5
        default: mantissa = 1; exponent += 1
        }
        return (mantissa, exponent)
    }

    /// One label per tick, all with the decimals the step needs (0.0, 0.5, 1.0). Large or tiny ticks are written
    /// with an exponent (1e-4, 2.5e6) so labels stay short.
    public var labels: [String] {
        guard step > 0 else { return values.map { Self.compact($0) } }
        let stepExponent = Int(log10(step).rounded(.down))
        let decimals = max(0, -stepExponent)
        let largest = values.map(abs).max() ?? 0
        if largest < 1e6, decimals <= 4 { return values.map { Self.fixed($0, decimals: decimals) } }
        return values.map { v in
            guard v != 0 else { return "0" }
            let e = Int(log10(abs(v)).rounded(.down))
            return Self.scientific(v, digits: min(10, max(0, e - stepExponent)))
        }
    }

    /// A single number in at most `significant` digits, with an exponent when large or tiny: the form for values
    /// shown on their own (a summary's min and last, a degenerate axis).
    public static func compact(_ v: Double, significant: Int = 4) -> String {
        guard v.isFinite else { return v.isNaN ? "nan" : v < 0 ? "-inf" : "inf" }
        guard v != 0 else { return "0" }
        let digits = max(1, significant)
        let e = Int(log10(abs(v)).rounded(.down))
        if e >= 6 || e < -3 { return scientific(v, digits: digits - 1) }
        return trimmed(fixed(v, decimals: max(0, digits - 1 - e)))
    }

    /// `v` with exactly `decimals` digits after the point, without Foundation's formatter: "-1.50", "3".
    static func fixed(_ v: Double, decimals: Int) -> String {
        let unit = pow(10, Double(decimals))
        let scaled = (abs(v) * unit).rounded()
        guard scaled.isFinite, scaled < 9e15 else { return "\(v)" }  // beyond exact integers: Swift's own form
        let n = Int64(scaled), base = Int64(unit)
        let sign = v < 0 && n != 0 ? "-" : ""
        guard decimals > 0 else { return sign + String(n) }
        let fraction = String(n % base)
        return sign + String(n / base) + "." + String(repeating: "0", count: decimals - fraction.count) + fraction
    }

    /// `v` as mantissa and power of ten, the mantissa with up to `digits` decimals and no trailing zeros: "2.5e-4".
    static func scientific(_ v: Double, digits: Int) -> String {
        var e = Int(log10(abs(v)).rounded(.down))
        var mantissa = trimmed(fixed(v / pow(10, Double(e)), decimals: digits))
        if mantissa.hasPrefix("10") || mantissa.hasPrefix("-10") {  // 9.99… rounded up into the next decade
            e += 1
            mantissa = trimmed(fixed(v / pow(10, Double(e)), decimals: digits))
        }
        return mantissa + "e" + String(e)
    }

    /// Drops trailing zeros after a decimal point, and the point itself if nothing follows it.
    static func trimmed(_ s: String) -> String {
        guard s.contains(".") else { return s }
        var t = Substring(s)
        while t.last == "0" { t = t.dropLast() }
        if t.last == "." { t = t.dropLast() }
        return String(t)
    }
}
