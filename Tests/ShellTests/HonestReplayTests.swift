import Foundation
import SessionLog
import Testing
@testable import Shell

/// Issue 16 §4: `replay` says "identical" only when everything it logged was reproduced.
@Suite struct HonestReplayTests {
    func record(_ commands: [String], in dir: URL, color: Bool = false, interactive: Bool = false, input: [String] = []) -> (Int64, String) {
        var c = ShellConfig(home: dir, databasePath: dir.appendingPathComponent("gtr.sqlite").path, style: Style(color: color),
                            interactive: interactive, workingDirectory: dir)
        c.echo = false
        let sh = Shell(config: c)
        sh.lineSource = ScriptedLines(input)
        for cmd in commands { _ = sh.execute(cmd) }
        let id = sh.log!.sessionID
        sh.close()
        return (id, sh.databasePath)
    }

    func piped(_ dir: URL) -> ShellConfig {
        var c = ShellConfig(home: dir, databasePath: dir.appendingPathComponent("gtr.sqlite").path, style: Style(color: false),
                            interactive: false, workingDirectory: dir)
        c.echo = false
        return c
    }

    /// A terminal session (colour, human moves, `vars` and `$session`, `auto` with its progress bar) replays
    /// identically through a pipe.
    @Test func aTerminalSessionReplaysPipedIdentically() throws {
        let dir = tempDir()
        let (id, db) = record(["env points24 seed=3", "act 10", "show", "vars", "echo session $session", "auto episodes=2", "act nonsense"],
                              in: dir, color: true, interactive: true)
        let c = try SQLiteConnection(path: db, readOnly: true)
        #expect(try c.scalarInt("SELECT COUNT(*) FROM commands WHERE session_id=\(id) AND output LIKE '%' || char(27) || '%'") > 0,
                "the recorded session should hold styled output")
        #expect(try c.scalarInt("SELECT COUNT(*) FROM commands WHERE session_id=\(id) AND output LIKE '%session \(id)%'") == 1)
        c.close()
        let r = try Replay.run(session: id, database: db, config: piped(dir))
        #expect(r.identical, "\(r.lines)")
        #expect(r.lines.last?.hasSuffix(", identical") == true, "\(r.lines)")
    }

    /// A progress bar is shown (here every 10 % in a pipe) but is not part of the command's logged output.
    @Test func progressBarsAreShownButNotLogged() throws {
        let home = tempDir()
        let r = try runGTR([], input: "env points24 seed=3\nauto episodes=3\n", home: home)
        #expect(r.status == 0 && r.stdout.contains("auto [") && r.stdout.contains("3/3"), "\(r.stdout) \(r.stderr)")
        let c = try SQLiteConnection(path: home.appendingPathComponent("gtr.sqlite").path, readOnly: true)
        #expect(try c.scalarInt("SELECT COUNT(*) FROM commands WHERE text='auto episodes=3' AND output LIKE '%auto: 3 episode(s)%'") == 1)
        #expect(try c.scalarInt("SELECT COUNT(*) FROM commands WHERE output LIKE '%auto [%'") == 0)
    }

    /// Any count that differs is a divergence: a step, a generation, a correction or a typed line removed, or
    /// rows logged under a command that has no row.
    @Test func aMissingOrExtraRowIsADivergence() throws {
        let dir = tempDir()
        let (id, db) = record(["env points24 seed=5", "corrector use oracle", "think", "correct", "act 1", "act +"], in: dir)
        #expect(try Replay.run(session: id, database: db, config: piped(dir)).identical)
        let tampering = [
            "DELETE FROM steps WHERE id=(SELECT MAX(id) FROM steps WHERE session_id=\(id))",
            "DELETE FROM generations WHERE id=(SELECT MAX(id) FROM generations WHERE session_id=\(id))",
            "DELETE FROM corrections WHERE id=(SELECT MAX(id) FROM corrections WHERE session_id=\(id))",
            "INSERT INTO steps(session_id, episode, t, env, command_seq, observation, action, source, reward, done, info) VALUES (\(id), 1, 9, 'points24', 99, '', 'x', 'script', 0, 0, '')",
        ]
        for (k, sql) in tampering.enumerated() {
            let copy = dir.appendingPathComponent("copy\(k).sqlite").path
            try FileManager.default.copyItem(atPath: db, toPath: copy)
            let c = try SQLiteConnection(path: copy)
            try c.exec(sql)
            c.close()
            var cfg = piped(dir); cfg.databasePath = copy
            let r = try Replay.run(session: id, database: copy, config: cfg)
            #expect(!r.identical, "tampering \(k) went unnoticed: \(r.lines)")
            #expect(!r.lines.contains { $0.contains("identical") }, "\(r.lines)")
        }
    }

    /// `play` is replayed from the lines typed into it, not skipped.
    @Test func playIsReplayedFromItsTypedLines() throws {
        let dir = tempDir()
        let (id, db) = record(["play points24 hands=2 seed=40", "echo after"], in: dir, input: ["10", "+", "undo", "2", "skip", "solve", "quit"])
        let c = try SQLiteConnection(path: db)
        #expect(try c.scalarInt("SELECT COUNT(*) FROM command_inputs WHERE session_id=\(id)") == 7)
        #expect(try c.scalarInt("SELECT COUNT(*) FROM steps WHERE session_id=\(id)") > 0)
        c.close()
        let r = try Replay.run(session: id, database: db, config: piped(dir))
        #expect(r.identical, "\(r.lines)")
        // A different move in the log: the replay plays it and diverges.
        let c2 = try SQLiteConnection(path: db)
        try c2.exec("UPDATE command_inputs SET line='3' WHERE session_id=\(id) AND k=0")
        c2.close()
        #expect(try !Replay.run(session: id, database: db, config: piped(dir)).identical)
    }
}
