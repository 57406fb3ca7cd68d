import Foundation

/// Says that a request is still out ("correct: waiting for chat… 7 s"): on a terminal a line redrawn in place every
/// second from 2 s on and erased when the answer comes; piped, one plain line at 10 s and every 30 s after. It goes
/// straight to the terminal: never part of a command's captured output or the session log.
final class WaitLine: @unchecked Sendable {
    let label: String
    let live: Bool
    let write: @Sendable (String) -> Void
    /// Guards everything below; the ticking thread waits on it between seconds.
    private let cond = NSCondition()
    private var ended = false
    private var shown = false
    private let start = Date()

    init(label: String, live: Bool, write: @escaping @Sendable (String) -> Void) {
        self.label = label; self.live = live; self.write = write
    }

    /// Starts the line's own thread, which ticks each whole second until `end`. Not a timer on a shared dispatch
    /// queue: with that pool busy (a training run, or a test suite in parallel) the ticks came late or not at all.
    func begin() {
        let t = Thread { [self] in
            cond.lock(); defer { cond.unlock() }
            var next = 1
            while !ended {
                // signalled (end) or woken early: look at `ended` again before writing anything
                if cond.wait(until: start.addingTimeInterval(Double(next))) || ended { continue }
                tick()
                next = Swift.max(next + 1, Int(Date().timeIntervalSince(start)) + 1)  // a late wake skips, never repeats
            }
        }
        t.name = "gtr-wait-line"
        t.start()
    }

    /// Called with `cond` held.
    private func tick() {
        let s = Int(Date().timeIntervalSince(start))
        if live {
            guard s >= 2 else { return }
            write("\r\u{1B}[K\(label)… \(s) s (Ctrl-C stops it)")
            shown = true
        } else if s == 10 || (s > 10 && (s - 10) % 30 == 0) {
            write("\(label)… \(s) s\n")
        }
    }

    func end() {
        cond.lock(); defer { cond.unlock() }
        ended = true
        cond.signal()
        if shown { write("\r\u{1B}[K"); shown = false }
    }
}

extension Shell {
    /// Runs `body` (a request to a server) with a `WaitLine` showing that it is still waiting.
    func withWaitLine<T>(_ label: String, _ body: () throws -> T) rethrows -> T {
        guard config.echo else { return try body() }
        let line = WaitLine(label: label, live: config.interactive) { FileHandle.standardOutput.write(Data($0.utf8)) }
        line.begin()
        defer { line.end() }
        return try body()
    }
}
