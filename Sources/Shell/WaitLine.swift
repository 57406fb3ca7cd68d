import Foundation

/// Says that a request is still out ("correct: waiting for chat… 7 s"): on a terminal a line redrawn in place every
/// second from 2 s on and erased when the answer comes; piped, one plain line at 10 s and every 30 s after. It goes
/// straight to the terminal: never part of a command's captured output or the session log.
final class WaitLine: @unchecked Sendable {
    let label: String
    let live: Bool
    let write: @Sendable (String) -> Void
    private let lock = NSLock()
    private var timer: DispatchSourceTimer?
    private var shown = false
    private let start = Date()

    init(label: String, live: Bool, write: @escaping @Sendable (String) -> Void) {
        self.label = label; self.live = live; self.write = write
    }

    func begin() {
        let t = DispatchSource.makeTimerSource(queue: DispatchQueue.global())
        t.schedule(deadline: .now() + 1, repeating: 1)
        t.setEventHandler { [weak self] in self?.tick() }
        lock.lock(); timer = t; lock.unlock()
        t.resume()
    }

    private func tick() {
        lock.lock(); defer { lock.unlock() }
        guard timer != nil else { return }
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
        lock.lock(); defer { lock.unlock() }
        timer?.cancel()
        timer = nil
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
