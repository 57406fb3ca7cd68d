import Foundation
import SessionLog

extension Shell {
    static let logCommands: [CommandSpec] = [
        CommandSpec(name: "log", group: "log", summary: "the last N commands of this session (default 20)",
                    example: "log 5", positionals: [.optional("N")], volatile: true) { sh, a in
            let n = try Shell.count(a.positional.first, default: 20)
            let r = try sh.query("SELECT seq, status, printf('%.3f', duration), text FROM commands WHERE session_id=\(sh.sessionID) ORDER BY seq DESC LIMIT \(n)")
            for row in r.rows.reversed() { sh.out(row.map(\.description).joined(separator: "  ")) }
        },
        CommandSpec(name: "sql", group: "log", summary: "query the session database (read-only)",
                    example: "sql \"SELECT episode, return FROM episodes WHERE session_id=$session\"", positionals: [.text("\"SELECT ...\"")], volatile: true) { sh, a in
            guard !a.all.isEmpty else { throw CommandError("usage: sql \"SELECT ...\"") }
            let r = try sh.query(a.all.joined(separator: " "))
            sh.out(r.columns.joined(separator: " | "))
            for row in r.rows.prefix(1000) { sh.out(row.map(\.description).joined(separator: " | ")) }
            if r.rows.count > 1000 { sh.out("(\(r.rows.count - 1000) more rows)") }
            sh.out("(\(r.rows.count) row\(r.rows.count == 1 ? "" : "s"))")
        },
        CommandSpec(name: "sessions", group: "log", summary: "recent sessions with their counts",
                    example: "sessions", positionals: [.optional("N")], volatile: true) { sh, a in
            let n = try Shell.count(a.positional.first, default: 20)
            let r = try sh.query("""
                SELECT s.id, datetime(s.started_at, 'unixepoch'), COALESCE(datetime(s.ended_at, 'unixepoch'), 'open'),
                  (SELECT COUNT(*) FROM commands c WHERE c.session_id=s.id),
                  (SELECT COUNT(*) FROM episodes e WHERE e.session_id=s.id),
                  (SELECT COUNT(*) FROM steps t WHERE t.session_id=s.id),
                  COALESCE(s.replay_of, '')
                FROM sessions s ORDER BY s.id DESC LIMIT \(max(1, n))
                """)
            sh.out("id | started | ended | commands | episodes | steps | replay_of")
            for row in r.rows.reversed() { sh.out(row.map(\.description).joined(separator: " | ")) }
        },
        CommandSpec(name: "save", group: "log", summary: "write this session's commands as a script that runs (play and edits as their equivalents)",
                    example: "save script my-session.gtr", positionals: [.word("script", ["script"]), .word("FILE")], volatile: true) { sh, a in
            let r = try sh.query("SELECT seq, text, status FROM commands WHERE session_id=\(sh.sessionID) ORDER BY seq")
            var text = "# gtr session \(sh.sessionID) saved \(ISO8601DateFormatter().string(from: Date()))\n"
            var count = 0
            for row in r.rows {
                guard case let .int(seq) = row[0], case let .text(t) = row[1] else { continue }
                let first = t.split(whereSeparator: { $0 == " " || $0 == "\n" }).first.map(String.init) ?? ""
                if ["save", "quit", "exit", "replay"].contains(first) { continue }
                if case let .text(st) = row[2], st != "ok" { text += "# failed: " + t.replacingOccurrences(of: "\n", with: "\n# ") + "\n"; continue }
                // Commands that read input as they run are saved as what they did.
                if let equivalent = sh.scriptEquivalents[Int(seq)] {
                    text += "# " + t.replacingOccurrences(of: "\n", with: "\n# ") + "\n"
                    for l in equivalent { text += l + "\n" }
                } else {
                    text += t + "\n"
                }
                count += 1
            }
            try sh.writeFile(Data(text.utf8), to: a.positional[1])
            sh.out("wrote \(count) command(s) to \(a.positional[1])")
        },
        CommandSpec(name: "replay", group: "log",
                    summary: "re-run a logged session's commands in a new session and report the first divergence",
                    example: "replay 3", positionals: [.word("SESSION_ID")], volatile: true) { sh, a in
            guard let id = a.positional.first.flatMap(Int64.init) else { throw CommandError("usage: replay SESSION_ID") }
            guard id != sh.sessionID else { throw CommandError("cannot replay the running session") }
            sh.log?.flush()
            let report = try Replay.run(session: id, database: sh.databasePath, config: sh.config)
            for l in report.lines { sh.out(l) }
            if !report.identical { throw CommandError("replay diverged") }
        },
    ]

    var sessionID: Int64 { log?.sessionID ?? 0 }

    /// A positive count given as a word (`log 5`, `sessions 10`).
    static func count(_ word: String?, default d: Int) throws -> Int {
        guard let w = word else { return d }
        guard let n = Int(w), n >= 1, n <= 1_000_000 else { throw CommandError("N=\(w.prefix(20)): expected a positive integer") }
        return n
    }

    func query(_ sql: String) throws -> (columns: [String], rows: [[SQLValue]]) {
        guard let log else { throw CommandError("no session log (logging is off)") }
        do { return try log.readOnlyQuery(sql) } catch let e as SQLiteError { throw CommandError(e.message) }
    }
}

/// Re-executes a logged session and compares, command by command, the outputs (except for commands whose
/// output depends on time or the database, such as `status` or `sql`) and the step records.
public enum Replay {
    public struct Report {
        public var identical: Bool
        public var lines: [String]
        public var newSession: Int64
    }

    /// Output with error positions removed (`error: FILE:LINE:COL: msg` → `error: msg`): a replay runs the same
    /// commands from a different source, so only the message must match.
    static func normalised(_ s: String) -> String {
        s.split(separator: "\n", omittingEmptySubsequences: false).filter { line in
            // A corrector's cost line says "cached" on replay by design.
            !(line.hasPrefix("cost: ") || line.hasPrefix("\u{1B}[2mcost: "))
        }.map { line -> String in
            guard line.hasPrefix("error: "), let r = line.range(of: #"^error: [^ ]*:\d+:\d+: "#, options: .regularExpression) else { return String(line) }
            return "error: " + line[r.upperBound...]
        }.joined(separator: "\n")
    }

    public static func run(session id: Int64, database: String, config: ShellConfig) throws -> Report {
        let c: SQLiteConnection
        do { c = try SQLiteConnection(path: database, readOnly: true) } catch { throw CommandError("\(error)") }
        let cmds: [CommandRecord]
        let oldSteps: [(commandSeq: Int, record: StepRecord)]
        let oldGens: [(commandSeq: Int, kind: String, tokenIDs: String, text: String)]
        let oldCorrections: [CorrectionRecord]
        do {
            oldCorrections = try SessionLog.corrections(in: c, session: id)
            cmds = try SessionLog.commands(in: c, session: id)
            oldSteps = try SessionLog.steps(in: c, session: id)
            oldGens = try SessionLog.generations(in: c, session: id)
        } catch { throw CommandError("\(error)") }
        c.close()
        guard !cmds.isEmpty else { throw CommandError("session \(id) has no logged commands") }
        var cfg = config
        cfg.echo = false
        cfg.databasePath = database
        let sh = Shell(config: cfg, replayOf: id)
        sh.recordSteps = true
        sh.correctorSession.replaying = true
        for r in oldCorrections { sh.correctorSession.replayRows[r.commandSeq ?? -1, default: []].append(r) }
        for g in oldGens where g.kind == "edit" { sh.replayEdits[g.commandSeq] = g.text }
        defer { sh.close() }
        var lines: [String] = []
        var diverged = false
        for cmd in cmds {
            let first = cmd.text.split(whereSeparator: { $0 == " " || $0 == "\n" }).first.map(String.init) ?? ""
            if ["replay", "play", "quit", "exit"].contains(first) { continue }
            let before = sh.recordedSteps.count, genBefore = sh.recordedGenerations.count
            sh.execute(cmd.text, file: "replay:\(id)", line: cmd.seq)
            let newGens = sh.recordedGenerations[genBefore...].map { "\($0.kind):\($0.tokenIDs)" }
            let expectedGens = oldGens.filter { $0.commandSeq == cmd.seq }.map { "\($0.kind):\($0.tokenIDs)" }
            let newSteps = sh.recordedSteps[before...].map(\.record)
            let expected = oldSteps.filter { $0.commandSeq == cmd.seq }.map(\.record)
            let (logged, replayed) = (Replay.normalised(cmd.output), Replay.normalised(sh.lastOutput))
            if !Shell.isVolatile(cmd.text), logged != replayed {
                // Show the first line that differs.
                let a = logged.split(separator: "\n", omittingEmptySubsequences: false), b = replayed.split(separator: "\n", omittingEmptySubsequences: false)
                let k = Array(zip(a, b)).firstIndex { $0 != $1 } ?? min(a.count, b.count)
                lines.append("first divergence at command \(cmd.seq) `\(cmd.text.prefix(80))`: output line \(k + 1) differs")
                lines.append("  logged:   " + (k < a.count ? String(a[k].prefix(200)) : "(end of output)"))
                lines.append("  replayed: " + (k < b.count ? String(b[k].prefix(200)) : "(end of output)"))
                diverged = true; break
            }
            if newGens != expectedGens {
                let k = Array(zip(expectedGens, newGens)).firstIndex { $0 != $1 } ?? min(expectedGens.count, newGens.count)
                lines.append("first divergence at command \(cmd.seq) `\(cmd.text.prefix(80))`: generation \(k + 1) of the command differs")
                lines.append("  logged:   " + (k < expectedGens.count ? String(expectedGens[k].prefix(160)) : "(none)"))
                lines.append("  replayed: " + (k < newGens.count ? String(newGens[k].prefix(160)) : "(none)"))
                diverged = true; break
            }
            if newSteps != expected {
                let k = Array(zip(expected, newSteps)).firstIndex { $0 != $1 } ?? min(expected.count, newSteps.count)
                lines.append("first divergence at command \(cmd.seq) `\(cmd.text.prefix(80))`: step \(k + 1) of the command differs")
                lines.append("  logged:   " + (k < expected.count ? "\(expected[k].action) reward \(expected[k].reward) | \(expected[k].observation)" : "(no step)"))
                lines.append("  replayed: " + (k < newSteps.count ? "\(newSteps[k].action) reward \(newSteps[k].reward) | \(newSteps[k].observation)" : "(no step)"))
                diverged = true; break
            }
        }
        if !diverged {
            lines.append("replay of session \(id) as session \(sh.sessionID): \(cmds.count) command(s), \(oldSteps.count) step(s), \(oldGens.count) generation(s), identical")
        }
        return Report(identical: !diverged, lines: lines, newSession: sh.sessionID)
    }
}
