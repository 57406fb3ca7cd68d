import Foundation
import SessionLog
import Testing
@testable import Shell

/// Feeds fixed lines to commands that ask for input (`thought edit`).
final class ScriptedLines: LineSource {
    var lines: [String]
    var initials: [String?] = []
    init(_ lines: [String]) { self.lines = lines }
    func readLine(prompt: String) -> String? { lines.isEmpty ? nil : lines.removeFirst() }
    func readLine(prompt: String, initial: String?) -> String? { initials.append(initial); return readLine(prompt: prompt) }
}

/// One tiny NumberLine agent trained once for the suite (a few seconds in release).
let tinyAgentDir: URL = {
    let dir = tempDir()
    let sh = makeShell(dir, logging: false)
    let ok = sh.execute("sft env=numberline steps=150 epochs=1 d_model=32 layers=1 held_out=8 merges=120 out=agent")
    precondition(ok, sh.lastOutput)
    sh.close()
    return dir.appendingPathComponent("agent")
}()

@Suite(.serialized) struct AgentCommandTests {
    @Test func sftReportsProgressLossCurveAndHeldOutMetrics() throws {
        let dir = tempDir()
        let sh = makeShell(dir, logging: false)
        defer { sh.close() }
        #expect(sh.execute("sft env=ezpoints steps=48 epochs=1 d_model=32 layers=1 held_out=8 merges=300 out=ez"))
        let o = sh.lastOutput
        #expect(!o.contains("sft [") && o.contains("loss curve:") && o.contains("held-out: valid JSON"))  // bars are shown, not kept
        #expect(o.contains("card recognition"))
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("ez/model.safetensors").path))
        #expect(sh.execute("model info"))
        #expect(sh.lastOutput.contains("params:") && sh.lastOutput.contains("OpenBLAS core") && sh.lastOutput.contains("trained:   command = sft"))
    }

    @Test func thinkEditRescoreAndActFromThoughtAreLoggedAndReplay() throws {
        let dir = tempDir()
        let sh = makeShell(dir)
        let input = ScriptedLines(["{\"current number\": 1, \"target number\": 4, \"thoughts\": \"go up\", "])
        sh.lineSource = input
        #expect(sh.execute("model load \(tinyAgentDir.path)"))
        #expect(sh.execute("env numberline seed=3 start=1 target=4"))
        #expect(sh.execute("think"))
        var o = sh.lastOutput
        #expect(o.contains("log-prob: λ·thought + action = 0.50·(") && o.contains("value:"))
        #expect(sh.execute("expect $step == 0"))  // think does not step
        #expect(sh.execute("thought"))
        #expect(sh.lastOutput.contains("  #  part     p       H  token"))
        #expect(sh.execute("thought edit"))
        #expect(input.initials.count == 1 && input.initials[0] != nil)  // pre-filled with the model's thought
        #expect(sh.execute("rescore"))
        o = sh.lastOutput
        #expect(o.contains("thought log-prob: original") && o.contains("action distribution over legal actions"))
        #expect(o.contains("  +  ") || o.contains("  -  "))
        #expect(sh.execute("act from-thought"))
        #expect(sh.execute("expect $step == 1"))
        #expect(sh.execute("thought set '{\"current number\": 2, \"target number\": 4, \"thoughts\": \"up again\", '"))
        #expect(!sh.execute("act from-thought"))  // the thought is from t=0, the env is at t=1
        #expect(sh.lastOutput.contains("state changed"))
        #expect(sh.execute("step 2"))
        #expect(sh.execute("auto episodes=2 seed=5"))
        #expect(sh.lastOutput.contains("auto: 2 episode(s)"))
        #expect(sh.execute("eval episodes=2 seed=0 greedy"))
        o = sh.lastOutput
        #expect(o.contains("valid JSON") && o.contains("distinct-1") && o.contains("self-BLEU") && o.contains("card recognition"))
        let session = sh.sessionID
        sh.close()

        // every generation, edit, rescore and continuation is in the log with its tokens and log-probs
        let c = try SQLiteConnection(path: dir.appendingPathComponent("gtr.sqlite").path, readOnly: true)
        let kinds = try c.query("SELECT kind, COUNT(*) FROM generations WHERE session_id=? GROUP BY kind ORDER BY kind", [.int(session)]).rows
        let counts = Dictionary(uniqueKeysWithValues: kinds.map { ($0[0].description, $0[1].description) })
        #expect(counts["edit"] == "2" && counts["rescore"] == "1" && counts["continue"] == "1")
        #expect(Int(counts["generate"] ?? "0")! >= 4)
        let row = try c.query("SELECT token_ids, logprobs FROM generations WHERE session_id=? AND kind='generate' LIMIT 1", [.int(session)]).rows[0]
        #expect(row[0].description.split(separator: ",").count == row[1].description.split(separator: ",").count)
        c.close()

        let report = try Replay.run(session: session, database: dir.appendingPathComponent("gtr.sqlite").path, config: sh.config)
        #expect(report.identical, "\(report.lines)")
        #expect(report.lines.last?.contains("correction(s), identical") == true)
    }

    @Test func agentErrorsAreOneClearLine() throws {
        let dir = tempDir()
        let sh = makeShell(dir, logging: false)
        sh.autoLoadDefault = false
        defer { sh.close() }
        #expect(!sh.execute("think"))
        #expect(sh.lastOutput.contains("no environment") || sh.lastOutput.contains("no model"))
        #expect(sh.execute("env points24 seed=1"))
        #expect(!sh.execute("think"))
        #expect(sh.lastOutput.contains("no model loaded"))
        #expect(!sh.execute("model load nowhere"))
        #expect(sh.lastOutput.contains("has no config.json"))
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("bad"), withIntermediateDirectories: true)
        try Data("{not json".utf8).write(to: dir.appendingPathComponent("bad/config.json"))
        #expect(!sh.execute("model load bad"))
        #expect(sh.lastOutput.contains("is not a tiny-vlm config"))
        #expect(!sh.execute("thought"))
        #expect(sh.lastOutput.contains("no thought yet"))
        #expect(sh.execute("model load \(tinyAgentDir.path)"))
        #expect(sh.execute("think"))
        #expect(!sh.execute("rescore"))
        #expect(sh.lastOutput.contains("not edited"))
        #expect(!sh.execute("agent temperature=0"))
        #expect(!sh.execute("eval episodes=2 env=nope"))
        #expect(!sh.execute("sft env=nope"))
        #expect(sh.lastOutput.split(separator: "\n").count == 1)
        #expect(sh.lastOutput.contains("alfworld"))  // the one line lists the environments SFT accepts
    }
}
