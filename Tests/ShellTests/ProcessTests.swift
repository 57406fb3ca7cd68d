import Foundation
import SessionLog
import Testing
@testable import Shell

/// Tests that run the real gtr binary: golden transcripts through a pipe, scripts, kill -9, database faults.
@Suite(.serialized) struct ProcessTests {
    static let transcriptInput = """
        env points24 seed=3
        show
        actions
        solve
        act 10 + 10 / 5
        show prompt
        act ) =
        undo
        act 10
        expect $done == false "still playing"
        bogus
        env ezpoints cards=H3,S4
        act 3 * 4 =
        echo "ep=$episode return=$return"
        """

    @Test func goldenTranscriptThroughAPipe() throws {
        let home = tempDir()
        let r = try runGTR([], input: ProcessTests.transcriptInput + "\n", home: home)
        let golden = try String(contentsOf: repoRoot.appendingPathComponent("Tests/ShellTests/Fixtures/transcript.out"), encoding: .utf8)
        #expect(r.stdout == golden)
        #expect(!r.stdout.contains("\u{1B}"))                 // no escape codes when piped
        #expect(r.stderr.contains("<stdin>:11:1: unknown command 'bogus'"))
        #expect(r.status == 1)                                 // one command failed
        // Same input, same output: stable across runs.
        let again = try runGTR([], input: ProcessTests.transcriptInput + "\n", home: tempDir())
        #expect(again.stdout == r.stdout)
    }

    @Test func versionAndHelp() throws {
        let r = try runGTR(["--version"], input: "", home: tempDir())
        #expect(r.stdout.contains("gtr 0.1.0") && r.stdout.contains("blas:") && r.stdout.contains("database:"))
        for sub in ["run", "replay", "repl"] {
            let h = try runGTR([sub, "--help"], input: "", home: tempDir())
            #expect(h.stdout.contains("USAGE") || h.stdout.contains("usage"), "\(sub)")
        }
    }

    @Test func exampleSessionsPass() throws {
        let dir = repoRoot.appendingPathComponent("sessions")
        // Experiment scripts (an hour of training) say `# gtr-test: skip`; the suite runs their reduced version
        // (ExperimentCommandTests) instead.
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".gtr") }.filter {
            !((try? String(contentsOf: dir.appendingPathComponent($0), encoding: .utf8))?.contains("# gtr-test: skip") ?? false)
        }
        #expect(files.count >= 2)
        for f in files {
            let r = try runGTR(["run", dir.appendingPathComponent(f).path], input: "", home: tempDir())
            #expect(r.status == 0, "\(f): \(r.stderr)")
        }
    }

    @Test func runFailsOnFailedExpectWithPosition() throws {
        let home = tempDir()
        let f = home.appendingPathComponent("bad.gtr")
        try "env points24 cards=HA,S2,D3,C4\n\nact 1\n  expect $reward == 10 \"should fail\"\necho unreachable\n".write(to: f, atomically: true, encoding: .utf8)
        let r = try runGTR(["run", f.path], input: "", home: home)
        #expect(r.status == 1)
        #expect(r.stderr.contains("bad.gtr:4:3: expectation failed: should fail"))
        #expect(!r.stdout.contains("unreachable"))
        let k = try runGTR(["run", "--keep-going", f.path], input: "", home: home)
        #expect(k.status == 1 && k.stdout.contains("unreachable"))
    }

    @Test func replayCommandLine() throws {
        let home = tempDir()
        _ = try runGTR([], input: "env points24 seed=8\nact 1 + 2\nreset seed=9\nact 3\n", home: home)
        let r = try runGTR(["replay", "1"], input: "", home: home)
        #expect(r.status == 0 && r.stdout.contains("identical"), "\(r.stdout) \(r.stderr)")
        let missing = try runGTR(["replay", "99"], input: "", home: home)
        #expect(missing.status != 0 && missing.stderr.contains("no session 99"))
    }

    /// gtr reading from a pipe, its stdout on another, for tests that kill it mid-command.
    func launchGTR(home: URL) throws -> (Process, Pipe, Pipe) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: gtrBinary)
        var env = ProcessInfo.processInfo.environment
        env["GTR_HOME"] = home.path; env["NO_COLOR"] = "1"
        p.environment = env
        let (i, o) = (Pipe(), Pipe())
        p.standardInput = i; p.standardOutput = o; p.standardError = FileHandle.nullDevice
        try p.run()
        return (p, i, o)
    }

    /// kill -9 in the middle of a session: every completed command is in the database and it is consistent.
    @Test func killNineKeepsCompletedCommands() throws {
        let home = tempDir()
        let (p, i, o) = try launchGTR(home: home)
        var seen = ""
        for n in 1...30 {
            i.fileHandleForWriting.write(Data("echo done-\(n)\n".utf8))
            while !seen.contains("done-\(n)\n") { seen += String(decoding: o.fileHandleForReading.availableData, as: UTF8.self) }
        }
        // A long command is running when the kill arrives.
        i.fileHandleForWriting.write(Data("sleep 30\n".utf8))
        usleep(200_000)
        kill(p.processIdentifier, SIGKILL)
        // Reap directly: Process.waitUntilExit can miss the exit while other suites spawn processes.
        var st: Int32 = 0
        _ = waitpid(p.processIdentifier, &st, 0)
        let c = try SQLiteConnection(path: home.appendingPathComponent("gtr.sqlite").path)
        #expect(try c.query("PRAGMA integrity_check").rows.first?.first == .text("ok"))
        #expect(try c.scalarInt("SELECT COUNT(*) FROM commands WHERE status='ok'") == 30)
        // The command that was running has its row, marked as such (replay stops there).
        #expect(try c.scalarInt("SELECT COUNT(*) FROM commands WHERE text LIKE 'sleep%' AND status='running'") == 1)
    }

    /// kill -9 inside `auto`: every episode it finished is in the log with all its steps, the command's row says it
    /// was running, and `replay` reports where the original stopped instead of "identical".
    @Test func killNineInsideAutoKeepsFinishedEpisodesAndReplayIsHonest() throws {
        let home = tempDir()
        let (p, i, o) = try launchGTR(home: home)
        i.fileHandleForWriting.write(Data("env points24 seed=3\nauto episodes=200\n".utf8))
        // Episode 1 is the env's; "episode 8:" means episodes 2…7 of auto have ended.
        var seen = ""
        while !seen.contains("points24 episode 8:") {
            let d = o.fileHandleForReading.availableData
            if d.isEmpty { break }
            seen += String(decoding: d, as: UTF8.self)
        }
        kill(p.processIdentifier, SIGKILL)
        var st: Int32 = 0
        _ = waitpid(p.processIdentifier, &st, 0)
        #expect(seen.contains("points24 episode 8:"))
        let db = home.appendingPathComponent("gtr.sqlite").path
        let c = try SQLiteConnection(path: db, readOnly: true)
        #expect(try c.scalarInt("SELECT COUNT(*) FROM commands WHERE text='auto episodes=200' AND status='running'") == 1)
        let ended = try c.scalarInt("SELECT COUNT(*) FROM episodes WHERE ended_at IS NOT NULL AND episode >= 2")
        #expect(ended >= 6)
        // Every finished episode has all its steps.
        #expect(try c.scalarInt("""
            SELECT COUNT(*) FROM episodes e WHERE e.ended_at IS NOT NULL
              AND e.length <> (SELECT COUNT(*) FROM steps s WHERE s.session_id=e.session_id AND s.episode=e.episode)
            """) == 0)
        c.close()
        let r = try runGTR(["replay", "1"], input: "", home: home)
        #expect(r.status == 0, "\(r.stdout) \(r.stderr)")
        #expect(r.stdout.contains("identical up to command 1, where the original stopped"), "\(r.stdout)")
        #expect(!r.stdout.contains(", identical"))
    }

    /// kill -9 during a training run: a new gtr resumes it from its last checkpoint with `train resume run=ID`,
    /// and the resumed updates repeat what the uninterrupted run logged (same seed, same checkpointed state).
    @Test func aTrainingRunKilledWithKillNineResumesFromItsCheckpoint() throws {
        let home = tempDir()
        let model = "sft env=numberline steps=120 epochs=1 merges=200 d_model=32 layers=1 held_out=0 seed=3 out=\(home.path)/nl"
        let start = "train start algo=gtr env=numberline updates=400 steps=2 envs=2 eval_every=0 max_tokens=60 seed=5 env_options=\"time_limit=6\" checkpoint_every=2 model=\(home.path)/nl"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: gtrBinary)
        var env = ProcessInfo.processInfo.environment
        env["GTR_HOME"] = home.path; env["NO_COLOR"] = "1"
        p.environment = env
        let i = Pipe()
        p.standardInput = i; p.standardOutput = FileHandle.nullDevice; p.standardError = FileHandle.nullDevice
        try p.run()
        i.fileHandleForWriting.write(Data((model + "\n" + start + "\ntrain wait\n").utf8))
        // Wait for the checkpoint of update 4, then kill -9 in the middle of the run.
        let cp = home.appendingPathComponent("runs/1/update-4/trainer.json").path
        for _ in 0..<1200 where !FileManager.default.fileExists(atPath: cp) { usleep(50_000) }
        #expect(FileManager.default.fileExists(atPath: cp), "no checkpoint at update 4")
        usleep(300_000)
        kill(p.processIdentifier, SIGKILL)
        var st: Int32 = 0
        _ = waitpid(p.processIdentifier, &st, 0)
        let db = home.appendingPathComponent("gtr.sqlite").path
        func metric(_ c: SQLiteConnection, _ u: Int) throws -> [SQLValue] {
            try c.query("SELECT name, value FROM train_metrics WHERE run_id=1 AND update_index=? AND name NOT LIKE 't_%' ORDER BY name", [.int(Int64(u))]).rows.map { $0[1] }
        }
        let before = try SQLiteConnection(path: db)
        #expect(try before.query("PRAGMA integrity_check").rows.first?.first == .text("ok"))
        let logged = Int(try before.scalarInt("SELECT MAX(update_index) FROM train_metrics WHERE run_id=1"))
        #expect(logged >= 4)
        let last = (try FileManager.default.contentsOfDirectory(atPath: home.appendingPathComponent("runs/1").path))
            .compactMap { $0.hasPrefix("update-") ? Int($0.dropFirst(7)) : nil }.max() ?? 0
        // What the killed process logged after its last checkpoint (the resumed run must log the same again).
        var killed: [Int: [SQLValue]] = [:]
        for u in stride(from: last + 1, through: min(logged, last + 2), by: 1) { killed[u] = try metric(before, u) }
        before.close()
        let r = try runGTR([], input: "train resume run=1\ntrain break when env_steps >= \((last + 2) * 4)\ntrain wait\ntrain status\ntrain stop\n", home: home)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("run 1 resumed from its checkpoint at update \(last)"), "\(r.stdout)")
        #expect(r.stdout.contains("breakpoint tripped at update \(last + 2)"), "\(r.stdout)")
        let after = try SQLiteConnection(path: db)
        for (u, values) in killed { #expect(try metric(after, u) == values, "update \(u) differs after the resume") }
        #expect(try after.scalarInt("SELECT MAX(update_index) FROM train_metrics WHERE run_id=1") >= Int64(last + 2))
    }

    @Test func databaseFaultsWarnOnceAndTheShellGoesOn() throws {
        // Corrupted file.
        let home = tempDir()
        try Data((0..<4096).map { UInt8($0 % 251) }).write(to: home.appendingPathComponent("gtr.sqlite"))
        let r = try runGTR([], input: "env points24 seed=1\nact 1\necho still-here\n", home: home)
        #expect(r.stdout.contains("still-here"))
        #expect(r.stderr.components(separatedBy: "warning: session log").count - 1 == 1, "\(r.stderr)")
        // A path that cannot be created.
        let r2 = try runGTR(["--db", "/proc/gtr-cannot/x.sqlite"], input: "env points24 seed=1\necho ok-2\n", home: tempDir())
        #expect(r2.stdout.contains("ok-2") && r2.stderr.contains("warning: session log"))
    }
}

@Suite(.serialized) struct SessionLogFaultTests {
    func info() -> SessionInfo { SessionInfo(gtrVersion: "test", gitCommit: nil, host: "h", config: "{}") }

    @Test func lockedDatabaseRecoversWithoutLosingRows() throws {
        let dir = tempDir()
        let path = dir.appendingPathComponent("db.sqlite").path
        let log = SessionLog(path: path, info: info())
        var warnings: [String] = []
        log.onWarning = { warnings.append($0) }
        let other = try SQLiteConnection(path: path)
        try other.exec("PRAGMA busy_timeout=0; BEGIN EXCLUSIVE")
        log.logCommand(seq: 1, text: "a", startedAt: 0, duration: 0, status: "ok", output: "")
        log.flush()
        #expect(!log.healthy && warnings.count == 1 && log.pendingRows == 1)
        log.logCommand(seq: 2, text: "b", startedAt: 0, duration: 0, status: "ok", output: "")
        log.flush()
        #expect(warnings.count == 1)  // one warning, not one per flush
        try other.exec("COMMIT")
        // Retries are spaced by a back-off (0.5 s after the first failure), so a lock costs most commands nothing.
        Thread.sleep(forTimeInterval: 1.1)
        log.flush()
        #expect(log.healthy && log.pendingRows == 0)
        log.close()
        #expect(try other.scalarInt("SELECT COUNT(*) FROM commands") == 2)
    }

    @Test func fullDiskIsReportedOnce() throws {
        let dir = tempDir()
        let log = SessionLog(path: dir.appendingPathComponent("db.sqlite").path, info: info(), maxPageCount: 12)
        var warnings: [String] = []
        log.onWarning = { warnings.append($0) }
        for i in 0..<200 {
            log.logCommand(seq: i, text: String(repeating: "x", count: 2000), startedAt: 0, duration: 0, status: "ok", output: "")
            log.flush()
        }
        #expect(!log.healthy)
        #expect(warnings.count == 1 && warnings[0].contains("full"), "\(warnings)")
        log.close()
    }

    @Test func schemaIsVersioned() throws {
        let dir = tempDir()
        let path = dir.appendingPathComponent("db.sqlite").path
        SessionLog(path: path, info: info()).close()
        SessionLog(path: path, info: info()).close()  // reopening applies no migration twice
        let c = try SQLiteConnection(path: path)
        #expect(try c.scalarInt("PRAGMA user_version") == Int64(SessionLog.migrations.count))
        #expect(try c.scalarInt("SELECT COUNT(*) FROM sessions") == 2)
        #expect(try c.query("PRAGMA journal_mode").rows.first?.first == .text("wal"))
    }
}
