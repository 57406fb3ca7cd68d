/// An exact rational number with overflow detection. 24-game arithmetic must be exact: `8/(3-8/3)` is 24,
/// but floating point gives 23.999999999999996.
public struct Rational: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let num: Int
    public let den: Int  // always > 0, gcd(num, den) == 1

    public enum Failure: Error, Equatable { case divisionByZero, overflow }

    public init(_ n: Int) { num = n; den = 1 }

    /// Normalising initialiser; throws on a zero denominator or on overflow.
    public init(_ n: Int, _ d: Int) throws {
        guard d != 0 else { throw Failure.divisionByZero }
        guard n != Int.min, d != Int.min else { throw Failure.overflow }
        let g = Rational.gcd(abs(n), abs(d))
        let sign = d < 0 ? -1 : 1
        num = sign * n / g
        den = abs(d) / g
    }

    static func gcd(_ a: Int, _ b: Int) -> Int {
        var (a, b) = (a, b)
        while b != 0 { (a, b) = (b, a % b) }
        return max(a, 1)
    }

    private static func checked(_ r: (partialValue: Int, overflow: Bool)) throws -> Int {
        if r.overflow { throw Failure.overflow }
        return r.partialValue
    }

    public func adding(_ o: Rational) throws -> Rational {
        let a = try Rational.checked(num.multipliedReportingOverflow(by: o.den))
        let b = try Rational.checked(o.num.multipliedReportingOverflow(by: den))
        return try Rational(try Rational.checked(a.addingReportingOverflow(b)), try Rational.checked(den.multipliedReportingOverflow(by: o.den)))
    }
    public func subtracting(_ o: Rational) throws -> Rational { try adding(Rational(-o.num, o.den)) }
    public func multiplied(by o: Rational) throws -> Rational {
        try Rational(try Rational.checked(num.multipliedReportingOverflow(by: o.num)), try Rational.checked(den.multipliedReportingOverflow(by: o.den)))
    }
    public func divided(by o: Rational) throws -> Rational {
        guard o.num != 0 else { throw Failure.divisionByZero }
        return try Rational(try Rational.checked(num.multipliedReportingOverflow(by: o.den)), try Rational.checked(den.multipliedReportingOverflow(by: o.num)))
    }

    public func applying(_ op: Character, _ o: Rational) throws -> Rational {
        switch op {
        case "+": return try adding(o)
        case "-": return try subtracting(o)
        case "*": return try multiplied(by: o)
        default: return try divided(by: o)
        }
    }

    public static func < (a: Rational, b: Rational) -> Bool {
        // Cross-multiply in 128 bits-ish via Double fallback only for ordering display; exact when no overflow.
        let l = a.num.multipliedReportingOverflow(by: b.den), r = b.num.multipliedReportingOverflow(by: a.den)
        if !l.overflow && !r.overflow { return l.partialValue < r.partialValue }
        return Double(a.num) / Double(a.den) < Double(b.num) / Double(b.den)
    }

    public var description: String { den == 1 ? "\(num)" : "\(num)/\(den)" }
    public var doubleValue: Double { Double(num) / Double(den) }
}
