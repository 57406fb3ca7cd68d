import Foundation
import SessionLog
import Shell
import Support
import Testing
@testable import Serving

/// A served session's log replays in the REPL: every request was logged as the command it equals.
@Suite(.serialized) struct ServedReplayTests {
    func servedSession(home: String) -> ServedSession {
        var c = ServeConfig(home: home)
        c.rate = 0
        return ServedSession(id: "replay", client: "worker-3", peer: "127.0.0.1:5555", transport: "websocket", config: c, seed: 1)
    }

    func replay(_ id: Int64, home: String) throws -> Replay.Report {
        let cfg = ShellConfig(home: URL(fileURLWithPath: home), databasePath: home + "/gtr.sqlite", style: Style(color: false), interactive: false)
        return try Replay.run(session: id, database: home + "/gtr.sqlite", config: cfg)
    }

    @Test func aServedSessionWithStepsCorrectionsAndModelOutputsReplaysIdentically() throws {
        let home = tempHome()
        let s = servedSession(home: home)
        _ = try s.handle(type: "reset", data: data(#"{"env": "points24", "seed": 21, "solvable_only": true}"#))
        let e = try s.handle(type: "expert", data: nil).data
        _ = try s.handle(type: "correct", data: .object([("thought", e["output"]!)]))
        _ = try s.handle(type: "correct", data: .object([("thought", .string(#"{"cards": [1], "formula": "7*", "thoughts": "x", "action": "+"}"#))]))
        _ = try s.handle(type: "step", data: .object([("action", e["action"]!)]))
        _ = try s.handle(type: "step", data: .object([("text", .string("a \"quoted\" $dollar\nnewline output with no action"))]))
        _ = try s.handle(type: "reset", data: data(#"{"seed": 22}"#))  // same env: options kept, as the REPL's reset
        _ = try s.handle(type: "step", data: data(#"{"action": "10"}"#))
        _ = try s.handle(type: "reset", data: data(#"{"env": "household", "seed": 4}"#))
        let h = try s.handle(type: "expert", data: nil).data
        _ = try s.handle(type: "step", data: .object([("command", h["action"]!)]))
        let id = s.logSessionID
        s.close()
        let report = try replay(id, home: home)
        #expect(report.identical, "\(report.lines)")
        #expect(report.lines.last?.contains("identical") == true)
        #expect(report.lines.last?.contains("2 correction(s)") == true, "\(report.lines)")
    }

    @Test func aTamperedServedStepIsFoundByTheReplay() throws {
        let home = tempHome()
        let s = servedSession(home: home)
        _ = try s.handle(type: "reset", data: data(#"{"seed": 5}"#))
        _ = try s.handle(type: "step", data: data(#"{"action": "3"}"#))
        let id = s.logSessionID
        s.close()
        let c = try SQLiteConnection(path: home + "/gtr.sqlite")
        try c.exec("UPDATE steps SET reward = 99 WHERE session_id = \(id)")
        c.close()
        let report = try replay(id, home: home)
        #expect(!report.identical)
        #expect(report.lines.contains { $0.contains("step 1 of the command differs") }, "\(report.lines)")
    }
}
