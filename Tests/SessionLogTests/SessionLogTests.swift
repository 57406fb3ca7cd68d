import Foundation
import Testing
@testable import SessionLog

/// A fresh directory per test so tests never share a database.
func tempDir() -> String {
    let d = NSTemporaryDirectory() + "gtr-sessionlog-\(UUID().uuidString)"
    try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
    return d
}

let info = SessionInfo(gtrVersion: "test", gitCommit: nil, host: "h", config: "{}")

@Suite struct SessionLogTests {
    @Test func rowsRoundTripThroughReaders() throws {
        let path = tempDir() + "/log.sqlite"
        let log = SessionLog(path: path, info: info)
        #expect(log.healthy)
        log.logCommand(seq: 1, text: "reset seed=3", startedAt: 0, duration: 0.1, status: "ok", output: "x")
        log.beginEpisode(1, env: "points24", seed: 3, options: "")
        let step = StepRecord(episode: 1, t: 1, env: "points24", observation: "o", action: "'2'", source: "human",
                              reward: -1, done: false, info: "{}")
        log.logStep(step, commandSeq: 2)
        log.endEpisode(1, return: -1, length: 1)
        let c = try log.reader()
        let cmds = try SessionLog.commands(in: c, session: log.sessionID)
        #expect(cmds.map(\.text) == ["reset seed=3"])
        let steps = try SessionLog.steps(in: c, session: log.sessionID)
        #expect(steps.count == 1 && steps[0].record == step && steps[0].commandSeq == 2)
        log.close()
    }

    @Test func textIsStoredByteForByteUpToTheFirstNUL() throws {
        // Text is bound in place: small (≤ 15 bytes) and large strings, non-ASCII, empty, and a NUL, which ends the
        // text as it did when strings went to SQLite as C strings.
        let log = SessionLog(path: tempDir() + "/log.sqlite", info: info)
        let texts = ["", "fifteen bytes!!", "sixteen bytes!!!", "é ✓ 🂡", String(repeating: "long ", count: 400), "a\u{0}b"]
        for (t, x) in texts.enumerated() {
            log.logStep(StepRecord(episode: 1, t: t, env: "e", observation: x, action: x, source: "script", reward: 0, done: false, info: x),
                        commandSeq: 1)
        }
        let rows = try SessionLog.steps(in: log.reader(), session: log.sessionID).map(\.record)
        let expected = texts.map { $0.split(separator: "\u{0}", omittingEmptySubsequences: false)[0] }.map(String.init)
        #expect(rows.map(\.observation) == expected && rows.map(\.action) == expected && rows.map(\.info) == expected)
        log.close()
    }

    @Test func schemaVersionIsRecordedAndReopenIsIdempotent() throws {
        let path = tempDir() + "/log.sqlite"
        let a = SessionLog(path: path, info: info); a.close()
        let b = SessionLog(path: path, info: info)
        #expect(b.healthy && b.sessionID == 2)
        let v = try b.readOnlyQuery("PRAGMA user_version").rows
        #expect(v.first?.first == .int(Int64(SessionLog.migrations.count)))
        b.close()
    }

    @Test func writesThroughSqlAreRefused() throws {
        let log = SessionLog(path: tempDir() + "/log.sqlite", info: info)
        #expect(throws: SQLiteError.self) { _ = try log.readOnlyQuery("DELETE FROM steps") }
        #expect(throws: SQLiteError.self) { _ = try log.readOnlyQuery("SELEC nonsense") }
        log.close()
    }

    @Test func invalidStepSourceIsRejectedByTheSchema() throws {
        let dir = tempDir()
        let log = SessionLog(path: dir + "/log.sqlite", info: info)
        var warnings: [String] = []
        log.onWarning = { warnings.append($0) }
        log.logStep(StepRecord(episode: 1, t: 1, env: "e", observation: "", action: "a", source: "robot",
                               reward: 0, done: false, info: ""), commandSeq: 1)
        log.flush()
        #expect(!log.healthy && warnings.count == 1 && log.pendingRows == 1)
        log.close()
        // The refused row is kept as SQL text rather than dropped.
        let saved = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.contains(".unsaved-") }
        #expect(saved.count == 1)
    }

    @Test func invalidRowsAreRefusedAfterValidOnesWereWrittenWithoutSQLiteChecks() throws {
        // Valid rows go in while SQLite skips its CHECK lists; the statement prepared then must not let a bad row in.
        let log = SessionLog(path: tempDir() + "/log.sqlite", info: info)
        var warnings: [String] = []
        log.onWarning = { warnings.append($0) }
        let ok = StepRecord(episode: 1, t: 1, env: "e", observation: "", action: "a", source: "script", reward: 0, done: false, info: "")
        log.logStep(ok, commandSeq: 1)
        log.flush()
        #expect(log.healthy && log.pendingRows == 0)
        var bad = ok; bad.t = 2; bad.source = "robot"
        log.logStep(bad, commandSeq: 2)
        log.flush()
        #expect(!log.healthy && warnings.count == 1 && log.pendingRows == 1)
        #expect(warnings.first?.contains("CHECK constraint failed") == true)
        #expect(!SessionLog.passes("dream", SessionLog.checkedLists.generationKind))
        #expect(!SessionLog.passes("yes", SessionLog.checkedLists.verdict) && SessionLog.passes("YES", SessionLog.checkedLists.verdict))
        // Only rows that passed were written.
        #expect(try SessionLog.steps(in: log.reader(), session: log.sessionID).map(\.record) == [ok])
        log.close()
    }

    @Test func checkedListsAreTheSchemasCheckLists() throws {
        // The writer skips SQLite's CHECK lists only for rows that passed these; they must be the schema's, word for word.
        let schema = SessionLog.migrations.joined()
        func list(_ column: String) -> [String] {
            guard let r = schema.range(of: "CHECK(\(column) IN ("), let end = schema[r.upperBound...].firstIndex(of: ")") else { return [] }
            return schema[r.upperBound..<end].split(separator: ",").map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "' ")) }
        }
        #expect(list("source") == SessionLog.checkedLists.stepSource)
        #expect(list("kind") == SessionLog.checkedLists.generationKind)
        #expect(list("verdict") == SessionLog.checkedLists.verdict)
        #expect(schema.components(separatedBy: "CHECK(").count - 1 == 3, "a new CHECK list must join checkedLists")
    }

    @Test func fullDatabaseKeepsRowsQueuedAndSavesThemOnClose() throws {
        let dir = tempDir()
        let log = SessionLog(path: dir + "/log.sqlite", info: info, maxPageCount: 8)
        log.onWarning = { _ in }
        let big = String(repeating: "x", count: 4000)
        for t in 1...200 {
            log.logStep(StepRecord(episode: 1, t: t, env: "e", observation: big, action: "a", source: "script",
                                   reward: 0, done: false, info: ""), commandSeq: 1)
        }
        log.flush()
        #expect(!log.healthy && log.pendingRows > 0)
        log.close()
        let saved = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.contains(".unsaved-") }
        #expect(saved.count == 1)
        let text = try String(contentsOfFile: dir + "/" + saved[0], encoding: .utf8)
        #expect(text.hasPrefix("-- gtr session log") && text.contains("COMMIT;"))
    }
}
