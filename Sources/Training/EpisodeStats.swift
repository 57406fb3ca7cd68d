/// Running episode statistics as GTR logs them: success = return > 0, over all episodes and over a rolling
/// window (200 episodes for the card games in the paper's scripts).
public struct EpisodeStats: Sendable {
    public private(set) var returns: [Double] = []
    public private(set) var lengths: [Int] = []
    public let window: Int

    public init(window: Int = 200) { self.window = window }

    public mutating func record(return r: Double, length: Int) { returns.append(r); lengths.append(length) }

    public var episodes: Int { returns.count }
    public var successes: Int { returns.filter { $0 > 0 }.count }
    public var successRate: Double { returns.isEmpty ? 0 : Double(successes) / Double(returns.count) }
    public var meanReturn: Double { returns.isEmpty ? 0 : returns.reduce(0, +) / Double(returns.count) }
    public var totalMoves: Int { lengths.reduce(0, +) }
    public var windowSuccessRate: Double {
        let w = returns.suffix(window)
        return w.isEmpty ? 0 : Double(w.filter { $0 > 0 }.count) / Double(w.count)
    }
}
