import Foundation

/// A per-op timer and allocation counter for the tensor core, off unless switched on (`OpProfile.enabled = true`
/// or `GTR_PROFILE_OPS=1`); when off it costs one branch per op.
///
/// Forward time is the time since the previous op finished, charged to the op that finishes now (every op ends in
/// `record`, with or without a graph), so glue code between ops lands on the next op; call `mark()` before a
/// forward pass so nothing outside it is counted. Backward time is measured around each node's gradient rule.
/// Bytes are those of the tensor buffers allocated meanwhile; `live`/`peak` follow every buffer's lifetime.
public enum OpProfile {
    public struct Entry: Sendable {
        public var calls = 0
        public var forwardNs: UInt64 = 0
        public var backwardNs: UInt64 = 0
        public var bytes = 0
        /// A named region (it contains ops, so it is left out of the totals).
        public var isRegion = false
        public var totalMs: Double { Double(forwardNs + backwardNs) / 1e6 }
    }

    nonisolated(unsafe) public static var enabled = ProcessInfo.processInfo.environment["GTR_PROFILE_OPS"] == "1"
    private static let lock = NSLock()
    nonisolated(unsafe) private static var entries: [String: Entry] = [:]
    nonisolated(unsafe) private static var last: UInt64 = 0
    nonisolated(unsafe) private static var bytesSinceMark = 0
    nonisolated(unsafe) public private(set) static var liveBytes = 0
    nonisolated(unsafe) public private(set) static var peakLiveBytes = 0

    @inline(__always) static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    /// Starts the forward clock (nothing before this point is charged to the next op).
    public static func mark() {
        lock.lock(); last = now(); bytesSinceMark = 0; lock.unlock()
    }

    public static func reset() {
        lock.lock(); entries = [:]; last = now(); bytesSinceMark = 0; peakLiveBytes = liveBytes; lock.unlock()
    }

    /// Charges the time and bytes since the previous op to `name`'s forward.
    static func forward(_ name: String) {
        let t = now()
        lock.lock()
        if last == 0 { last = t }
        var e = entries[name] ?? Entry()
        e.calls += 1
        e.forwardNs += t &- last
        e.bytes += bytesSinceMark
        entries[name] = e
        bytesSinceMark = 0
        last = now()
        lock.unlock()
    }

    /// Times one gradient rule; bytes it allocates are charged to the same op.
    static func backward(_ name: String, _ body: () -> Void) {
        lock.lock(); let before = bytesSinceMark; lock.unlock()
        let t = now()
        body()
        let dt = now() &- t
        lock.lock()
        var e = entries[name + " (bwd)"] ?? Entry()
        e.calls += 1
        e.backwardNs += dt
        e.bytes += bytesSinceMark - before
        entries[name + " (bwd)"] = e
        bytesSinceMark = before
        last = now()
        lock.unlock()
    }

    /// Times a named region (an optimizer step, a prefill). Its ops are also counted on their own rows, so
    /// regions are listed apart and left out of the total.
    public static func region<R>(_ name: String, _ body: () throws -> R) rethrows -> R {
        guard enabled else { return try body() }
        let t = now()
        let r = try body()
        let dt = now() &- t
        lock.lock()
        var e = entries[name] ?? Entry()
        e.calls += 1; e.forwardNs += dt; e.isRegion = true
        entries[name] = e
        last = now()
        lock.unlock()
        return r
    }

    static func allocated(_ bytes: Int) {
        lock.lock()
        bytesSinceMark += bytes; liveBytes += bytes
        if liveBytes > peakLiveBytes { peakLiveBytes = liveBytes }
        lock.unlock()
    }

    static func freed(_ bytes: Int) {
        lock.lock(); liveBytes -= bytes; lock.unlock()
    }

    public static var snapshot: [(name: String, entry: Entry)] {
        lock.lock(); defer { lock.unlock() }
        return entries.map { ($0.key, $0.value) }.sorted { $0.entry.totalMs > $1.entry.totalMs }
    }

    /// A Markdown table: op, calls per step, ms per step, share, MB allocated per step.
    public static func table(steps: Int) -> String {
        let rows = snapshot.filter { !$0.entry.isRegion } + snapshot.filter { $0.entry.isRegion }
        let total = rows.filter { !$0.entry.isRegion }.reduce(0) { $0 + $1.entry.totalMs }
        var out = "| op | calls/step | ms/step | share | MB allocated/step |\n|---|---|---|---|---|\n"
        for (name, e) in rows where !e.isRegion {
            out += String(format: "| %@ | %.0f | %.2f | %.1f %% | %.1f |\n", name, Double(e.calls) / Double(steps), e.totalMs / Double(steps),
                          total > 0 ? e.totalMs / total * 100 : 0, Double(e.bytes) / Double(steps) / 1_048_576)
        }
        out += String(format: "| total of ops | | %.2f | 100 %% | %.1f |\n", total / Double(steps),
                      Double(rows.filter { !$0.entry.isRegion }.reduce(0) { $0 + $1.entry.bytes }) / Double(steps) / 1_048_576)
        for (name, e) in rows where e.isRegion {
            out += String(format: "| region: %@ | %.0f | %.2f | | |\n", name, Double(e.calls) / Double(steps), e.totalMs / Double(steps))
        }
        return out
    }
}
