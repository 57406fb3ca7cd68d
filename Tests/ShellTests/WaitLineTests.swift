import Foundation
import Testing
@testable import Shell

/// The line that shows a request is still out: redrawn each second on a terminal from 2 s on and erased at the
/// end; silent for quick answers; never in a command's captured output.
struct WaitLineTests {
    final class Sink: @unchecked Sendable {
        let lock = NSLock()
        var text = ""
        func add(_ s: String) { lock.lock(); text += s; lock.unlock() }
        var value: String { lock.lock(); defer { lock.unlock() }; return text }
    }

    @Test func liveLineCountsSecondsAndIsErased() throws {
        let sink = Sink()
        let line = WaitLine(label: "chat: waiting for a verdict", live: true) { sink.add($0) }
        line.begin()
        Thread.sleep(forTimeInterval: 3.4)
        line.end()
        let t = sink.value
        #expect(t.contains("\r\u{1B}[Kchat: waiting for a verdict… 2 s") && t.contains("… 3 s"), "\(t.debugDescription)")
        #expect(t.hasSuffix("\r\u{1B}[K"))
        let after = sink.value
        Thread.sleep(forTimeInterval: 1.2)
        #expect(sink.value == after)   // nothing after end
    }

    @Test func quickAnswersShowNothing() throws {
        let sink = Sink()
        let line = WaitLine(label: "x", live: true) { sink.add($0) }
        line.begin()
        Thread.sleep(forTimeInterval: 0.3)
        line.end()
        let piped = WaitLine(label: "y", live: false) { sink.add($0) }
        piped.begin()
        Thread.sleep(forTimeInterval: 2.2)
        piped.end()
        #expect(sink.value.isEmpty)
    }
}
