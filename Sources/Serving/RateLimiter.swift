import Foundation

/// A token bucket per session: `rate` requests per second on average, bursts up to `rate` (at least 1).
/// Not thread-safe; a session's lock guards it.
struct RateLimiter {
    let rate: Double
    private var tokens: Double
    private var last: Double

    init(rate: Double, now: Double = ProcessInfo.processInfo.systemUptime) {
        self.rate = rate
        tokens = max(rate, 1)
        last = now
    }

    /// Takes one token; false when the bucket is empty (the request is refused, not queued).
    mutating func allow(now: Double = ProcessInfo.processInfo.systemUptime) -> Bool {
        guard rate > 0 else { return true }  // rate=0: no limit
        tokens = min(max(rate, 1), tokens + (now - last) * rate)
        last = now
        guard tokens >= 1 else { return false }
        tokens -= 1
        return true
    }
}
