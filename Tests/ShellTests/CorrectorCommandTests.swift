import Foundation
import LoopbackHTTP
import SessionLog
import Testing
@testable import Shell

@Suite(.serialized) struct CorrectorCommandTests {
    /// The shipped default agent on a fixed Points24 deal (10 9 3 8), decoding greedily: a valid GTR output.
    static let setup = ["model load default", "agent greedy=true", "env points24 seed=1 solvable_only=true", "think"]
    static let wrongThought = "thought set '{\"cards\": [1, 2, 3, 4], \"formula\": \"\", \"thoughts\": \"I am lost\", '"

    @Test func correctApplyCacheStatsAndReplay() throws {
        let dir = tempDir()
        let sh = makeShell(dir)
        #expect(sh.execute("corrector"))
        #expect(sh.lastOutput.contains("* oracle"))
        for c in Self.setup { #expect(sh.execute(c), "\(sh.lastOutput)") }
        #expect(sh.execute(Self.wrongThought))
        #expect(sh.execute("correct"), "\(sh.lastOutput)")
        var o = sh.lastOutput
        #expect(o.contains("1. The cards are 10, 9, 3 and 8. The solver finds"))
        #expect(o.contains("2. No: the thought names 1, 2, 3 and 4, but the deal is 10, 9, 3 and 8."))
        #expect(o.contains("verdict: NO"))
        #expect(o.contains("diff:") && o.contains("[-[1,-] [-2,-]") && o.contains("{+[10,+} {+9,+}"))
        #expect(o.contains("target formula: 10+8+9-3"))
        #expect(sh.execute("correct apply"))
        #expect(sh.lastOutput.contains("thought edited"))
        #expect(sh.execute("thought"))
        #expect(sh.lastOutput.contains("edited thought: {\"cards\": [10, 9, 3, 8], \"formula\": \"\", \"thoughts\": "))
        // With the target now determined the request differs; asked twice, the second is served from the cache.
        #expect(sh.execute(Self.wrongThought))
        #expect(sh.execute("correct"))
        #expect(!sh.lastOutput.contains("cached"))
        #expect(sh.execute("correct"))
        #expect(sh.lastOutput.contains("cached, no cost"))
        #expect(sh.execute("corrector stats"))
        o = sh.lastOutput
        let row = o.split(separator: "\n").first { $0.hasPrefix("oracle") }.map(String.init) ?? ""
        let cols = row.split(separator: " ")
        #expect(cols.count > 3 && cols[1] == "3" && cols[2] == "1", "\(o)")
        #expect(!sh.execute("correct compare oracle nobody"))
        #expect(sh.lastOutput.contains("unknown corrector 'nobody'"))
        let session = sh.sessionID
        sh.close()

        let c = try SQLiteConnection(path: dir.appendingPathComponent("gtr.sqlite").path, readOnly: true)
        let rows = try SessionLog.corrections(in: c, session: session)
        c.close()
        #expect(rows.count == 3)
        #expect(rows.map(\.cached) == [false, false, true])
        #expect(rows[0].verdict == "NO" && rows[0].corrector == "oracle" && rows[0].prompt.contains("[Thought]"))
        #expect(rows[0].prompt.contains("[Target Formula] 'NOT DETERMINED'") && rows[1].prompt.contains("[Target Formula] '10+8+9-3'"))
        #expect(rows[1].requestHash == rows[2].requestHash && rows[0].requestHash != rows[1].requestHash && rows[0].requestHash.count == 64)
        #expect(rows[0].correctedThought?.contains("\"cards\":[10,9,3,8]") == true)
        #expect(rows[0].targetFormula == "10+8+9-3" && rows[0].possibleSolution == true)

        let report = try Replay.run(session: session, database: dir.appendingPathComponent("gtr.sqlite").path, config: sh.config)
        #expect(report.identical, "\(report.lines)")
    }

    @Test func chatCorrectorThroughTheShellNeverLeaksTheKey() throws {
        let key = "sk-shell-\(UUID().uuidString)"
        setenv("GTR_TEST_SHELL_KEY", key, 1)
        let content = "{\"answer1\": \"10, 9, 3, 8\", \"answer2\": \"no\", \"answer3\": \"none\", \"answer4\": \"10\", \"evaluation\": \"NO\", "
            + "\"possible_solution\": \"YES\", \"target_formula\": \"(10 - 9 + 3) * 8\", "
            + "\"correction\": {\"cards\": [10, 9, 3, 8], \"formula\": \"\", \"thoughts\": \"(10-9+3)*8 is not 24 but I try\"}}"
        let server = try LoopbackServer { req, i in
            // The first call fails with an error that echoes the key; then proper replies.
            i == 0 ? ScriptedResponse(status: 401, text: "{\"error\": {\"message\": \"bad key \(req.headers["authorization"] ?? "")\"}}")
                : ScriptedResponse(text: chatReply(content: content))
        }
        defer { server.stop() }
        let dir = tempDir()
        let sh = makeShell(dir)
        var outputs = ""
        func run(_ cmd: String) -> Bool { let ok = sh.execute(cmd); outputs += sh.lastOutput; return ok }
        #expect(!run("corrector use chat url=\(server.baseURL) model=m key_env=GTR_TEST_UNSET_KEY_VAR"))
        #expect(sh.lastOutput.contains("GTR_TEST_UNSET_KEY_VAR is not set"))
        #expect(run("corrector use chat url=\(server.baseURL) model=judge key_env=GTR_TEST_SHELL_KEY name=local retries=0"))
        for c in Self.setup { #expect(run(c)) }
        #expect(run(Self.wrongThought))
        #expect(run("correct"))
        #expect(sh.lastOutput.contains("no correction") && sh.lastOutput.contains("HTTP 401") && sh.lastOutput.contains("[redacted]"))
        #expect(run("correct"))   // failures are not cached: asked again
        #expect(sh.lastOutput.contains("verdict: NO") && sh.lastOutput.contains("1. 10, 9, 3, 8"))
        #expect(sh.lastOutput.contains("target formula: (10-9+3)*8"))
        #expect(run("correct compare oracle local"))
        let o = sh.lastOutput
        #expect(o.contains("verdict:   NO | NO   agree"))
        #expect(o.contains("corrections (oracle → local):"))
        #expect(run("corrector stats"))
        #expect(sh.lastOutput.contains("local"))
        let requestsBefore = server.requests.count
        let session = sh.sessionID
        sh.close()
        #expect(!outputs.contains(key))

        // Nothing the shell wrote to disk holds the key (database and WAL).
        for f in try FileManager.default.contentsOfDirectory(atPath: dir.path) {
            let bytes = try Data(contentsOf: dir.appendingPathComponent(f))
            #expect(bytes.range(of: Data(key.utf8)) == nil, "key found in \(f)")
        }
        // A replay answers from the ledger: no new request reaches the server.
        let report = try Replay.run(session: session, database: dir.appendingPathComponent("gtr.sqlite").path, config: sh.config)
        #expect(report.identical, "\(report.lines)")
        #expect(server.requests.count == requestsBefore)
    }

    @Test func humanCorrectorAsksThenEditsAndReplays() throws {
        let dir = tempDir()
        let sh = makeShell(dir)
        let input = ScriptedLines(["maybe", "n", "{\"cards\": [10, 9, 3, 8], \"formula\": \"\", \"thoughts\": \"fixed by hand\"}"])
        sh.lineSource = input
        #expect(sh.execute("corrector use human"))
        for c in Self.setup { #expect(sh.execute(c)) }
        #expect(sh.execute(Self.wrongThought))
        #expect(sh.execute("correct"), "\(sh.lastOutput)")
        #expect(sh.lastOutput.contains("verdict: NO") && sh.lastOutput.contains("{+hand\"}+}"))
        // The editor line was pre-filled with the thought (without the action).
        #expect(input.initials.last??.contains("\"I am lost\"") == true)
        #expect(!sh.execute("correct"))   // no more input: cancelled, one clear line
        #expect(sh.lastOutput.split(separator: "\n").count == 1)
        let session = sh.sessionID
        sh.close()
        let report = try Replay.run(session: session, database: dir.appendingPathComponent("gtr.sqlite").path, config: sh.config)
        #expect(report.identical, "\(report.lines)")
    }
}
