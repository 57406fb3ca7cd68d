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

/// Re-executes a logged session and compares, command by command, everything the log holds: each command's
/// status and output (except for commands whose output depends on time or the database, such as `status` or
/// `sql`), its steps, its generations, the corrections it asked for and the lines typed inside it (`play`). A
/// count that differs anywhere, rows logged under a command the log has no row for included, is a divergence.
/// A session that was killed (a command left `running`, or never closed) replays up to where it stopped, and the
/// report says so instead of "identical".
public enum Replay {
    public struct Report {
        public var identical: Bool
        public var lines: [String]
        public var newSession: Int64
    }

    /// Output as replay compares it: terminal styling stripped, error positions removed (`error: FILE:LINE:COL:
    /// msg` → `error: msg`, since a replay runs the same commands from a different source), a corrector's cost line
    /// dropped (it says "cached" on replay by design), and the session's own id written `$session` where the
    /// command names `$session` or lists the variables.
    static func normalised(_ s: String, command: String = "", session: Int64? = nil) -> String {
        let plain = s.replacingOccurrences(of: "\u{1B}\\[[0-9;?]*[A-Za-z]", with: "", options: .regularExpression)
        var text = plain.split(separator: "\n", omittingEmptySubsequences: false).filter { line in
            !line.hasPrefix("cost: ")
        }.map { line -> String in
            guard line.hasPrefix("error: "), let r = line.range(of: #"^error: [^ ]*:\d+:\d+: "#, options: .regularExpression) else { return String(line) }
            return "error: " + line[r.upperBound...]
        }.joined(separator: "\n")
        if let session, session > 0, command.contains("$session") || command.contains("${session}") || command.hasPrefix("vars") {
            text = text.replacingOccurrences(of: "(?<![0-9.])\(session)(?![0-9.])", with: "$session", options: .regularExpression)
        }
        return text
    }

    /// Where a logged session stopped without closing: before command `seq` (left `running`) or after the last one.
    struct Stop { var seq: Int; var running: Bool }

    public static func run(session id: Int64, database: String, config: ShellConfig) throws -> Report {
        let c: SQLiteConnection
        do { c = try SQLiteConnection(path: database, readOnly: true) } catch { throw CommandError("\(error)") }
        let cmds: [CommandRecord]
        let oldSteps: [(commandSeq: Int, record: StepRecord)]
        let oldGens: [(commandSeq: Int, kind: String, tokenIDs: String, text: String)]
        let oldCorrections: [CorrectionRecord]
        let oldInputs: [Int: [String]]
        let closed: Bool, interactive: Bool, color: Bool, served: Bool
        do {
            guard try c.query("SELECT 1 FROM sessions WHERE id=?", [.int(id)]).rows.count == 1 else {
                c.close(); throw CommandError("no session \(id) in \(database) (sessions lists them)")
            }
            closed = try c.query("SELECT ended_at FROM sessions WHERE id=? AND ended_at IS NOT NULL", [.int(id)]).rows.count == 1
            interactive = try c.query("SELECT 1 FROM sessions WHERE id=? AND config LIKE '%\"interactive\":true%'", [.int(id)]).rows.count == 1
            color = try c.query("SELECT 1 FROM sessions WHERE id=? AND config LIKE '%\"color\":true%'", [.int(id)]).rows.count == 1
            // A session of `gtr serve` logs each request as the command it equals; its outputs are the server's
            // short replies, so only its steps, corrections and statuses are compared.
            served = try c.query("SELECT 1 FROM sessions WHERE id=? AND config LIKE '%\"served\":true%'", [.int(id)]).rows.count == 1
            oldCorrections = try SessionLog.corrections(in: c, session: id)
            cmds = try SessionLog.commands(in: c, session: id)
            oldSteps = try SessionLog.steps(in: c, session: id)
            oldGens = try SessionLog.generations(in: c, session: id)
            oldInputs = try SessionLog.inputs(in: c, session: id)
        } catch let e as CommandError { throw e } catch { c.close(); throw CommandError("\(error)") }
        c.close()
        guard !cmds.isEmpty else { throw CommandError("session \(id) has no logged commands") }
        // A command left `running` is where a kill or crash stopped the session; it and anything after it are not
        // replayed (it would not end where the original did).
        let stop: Stop? = cmds.first { $0.status == "running" }.map { Stop(seq: $0.seq, running: true) }
            ?? (closed ? nil : Stop(seq: cmds.last!.seq, running: false))
        let replayed = cmds.filter { stop == nil || $0.seq < stop!.seq || (!stop!.running && $0.seq == stop!.seq) }
        let seqs = Set(replayed.map(\.seq))

        var cfg = config
        cfg.echo = false
        cfg.databasePath = database
        // As the session was recorded: a terminal's moves are `human`, and cards are drawn as they were (the
        // styling itself is stripped before comparing).
        cfg.interactive = interactive
        cfg.style = Style(color: color)
        let sh = Shell(config: cfg, replayOf: id)
        sh.recordSteps = true
        sh.correctorSession.replaying = true
        for r in oldCorrections { sh.correctorSession.replayRows[r.commandSeq ?? -1, default: []].append(r) }
        for g in oldGens where g.kind == "edit" { sh.replayEdits[g.commandSeq] = g.text }
        sh.replayInputs = oldInputs
        defer { sh.close() }
        var lines: [String] = []
        /// The report of the first divergence.
        func diverge(_ cmd: CommandRecord, _ what: String, _ logged: String, _ new: String) -> Report {
            lines.append("first divergence at command \(cmd.seq) `\(cmd.text.prefix(80))`: \(what)")
            lines.append("  logged:   " + logged)
            lines.append("  replayed: " + new)
            return Report(identical: false, lines: lines, newSession: sh.sessionID)
        }
        var replayedCount = 0
        for cmd in replayed {
            let first = cmd.text.split(whereSeparator: { $0 == " " || $0 == "\n" }).first.map(String.init) ?? ""
            if ["replay", "quit", "exit"].contains(first) { continue }
            let before = sh.recordedSteps.count, genBefore = sh.recordedGenerations.count
            sh.nextSeq = cmd.seq
            let ok = sh.execute(cmd.text, file: "replay:\(id)", line: cmd.seq)
            replayedCount += 1
            let (logged, now) = (normalised(cmd.output, command: cmd.text, session: id), normalised(sh.lastOutput, command: cmd.text, session: sh.sessionID))
            if !served, !Shell.isVolatile(cmd.text), logged != now {
                let a = logged.split(separator: "\n", omittingEmptySubsequences: false), b = now.split(separator: "\n", omittingEmptySubsequences: false)
                let k = Array(zip(a, b)).firstIndex { $0 != $1 } ?? min(a.count, b.count)
                return diverge(cmd, "output line \(k + 1) differs", k < a.count ? String(a[k].prefix(200)) : "(end of output)",
                        k < b.count ? String(b[k].prefix(200)) : "(end of output)")
            }
            if cmd.status != (ok ? "ok" : "error") {
                return diverge(cmd, "status differs", cmd.status, ok ? "ok" : "error")
            }
            let newGens = sh.recordedGenerations[genBefore...].map { "\($0.kind):\($0.tokenIDs)" }
            let expectedGens = oldGens.filter { $0.commandSeq == cmd.seq }.map { "\($0.kind):\($0.tokenIDs)" }
            if newGens != expectedGens {
                let k = Array(zip(expectedGens, newGens)).firstIndex { $0 != $1 } ?? min(expectedGens.count, newGens.count)
                return diverge(cmd, "generation \(k + 1) of the command differs (\(expectedGens.count) logged, \(newGens.count) replayed)",
                        k < expectedGens.count ? String(expectedGens[k].prefix(160)) : "(none)", k < newGens.count ? String(newGens[k].prefix(160)) : "(none)")
            }
            let newSteps = sh.recordedSteps[before...].map(\.record)
            let expected = oldSteps.filter { $0.commandSeq == cmd.seq }.map(\.record)
            if newSteps != expected {
                let k = Array(zip(expected, newSteps)).firstIndex { $0 != $1 } ?? min(expected.count, newSteps.count)
                return diverge(cmd, "step \(k + 1) of the command differs (\(expected.count) logged, \(newSteps.count) replayed)",
                        k < expected.count ? "\(expected[k].action) reward \(expected[k].reward) | \(expected[k].observation)" : "(no step)",
                        k < newSteps.count ? "\(newSteps[k].action) reward \(newSteps[k].reward) | \(newSteps[k].observation)" : "(no step)")
            }
            if let left = sh.correctorSession.replayRows[cmd.seq], !left.isEmpty {
                let logged = oldCorrections.filter { $0.commandSeq == cmd.seq }.count
                return diverge(cmd, "the command asked the corrector fewer times", "\(logged) correction(s)", "\(logged - left.count)")
            }
            let typed = oldInputs[cmd.seq]?.count ?? 0
            if sh.inputsRead < typed {
                return diverge(cmd, "the command read fewer typed lines", "\(typed) line(s)", "\(sh.inputsRead)")
            }
        }
        // Rows logged under commands that were not replayed: a command with no row of its own (a kill before the
        // command's row was written, by an older gtr) is a divergence; the stopped command's rows are reported.
        let stoppedSeq = stop.flatMap { $0.running ? $0.seq : nil }
        let cmdSeqs = Set(cmds.map(\.seq))
        let orphanSteps = oldSteps.filter { !cmdSeqs.contains($0.commandSeq) }.count
        let orphanGens = oldGens.filter { !cmdSeqs.contains($0.commandSeq) }.count
        let orphanCorrections = oldCorrections.filter { !cmdSeqs.contains($0.commandSeq ?? -1) }.count
        if orphanSteps + orphanGens + orphanCorrections > 0 {
            let where_ = Set(oldSteps.map(\.commandSeq) + oldGens.map(\.commandSeq)).subtracting(cmdSeqs).sorted().map(String.init).joined(separator: ", ")
            lines.append("divergence: the log holds \(orphanSteps) step(s), \(orphanGens) generation(s) and \(orphanCorrections) correction(s) under command(s) \(where_) of session \(id), which has no row for them (it was killed inside them); they were not replayed")
            return Report(identical: false, lines: lines, newSession: sh.sessionID)
        }
        let counted = oldSteps.filter { seqs.contains($0.commandSeq) }.count, gens = oldGens.filter { seqs.contains($0.commandSeq) }.count
        let corr = oldCorrections.filter { seqs.contains($0.commandSeq ?? -1) }.count
        let summary = "\(replayedCount) command(s), \(counted) step(s), \(gens) generation(s), \(corr) correction(s)"
        if let stop {
            if let s = stoppedSeq, let cmd = cmds.first(where: { $0.seq == s }) {
                let left = oldSteps.filter { $0.commandSeq == s }.count
                lines.append("replay of session \(id) as session \(sh.sessionID): \(summary) identical up to command \(s - 1), where the original stopped: command \(s) `\(cmd.text.prefix(60))` was still running when session \(id) ended (killed or crashed); its \(left) logged step(s) are not compared")
            } else {
                lines.append("replay of session \(id) as session \(sh.sessionID): \(summary) identical up to command \(stop.seq), where the original stopped (session \(id) was never closed: killed, crashed or still running)")
            }
        } else {
            lines.append("replay of session \(id) as session \(sh.sessionID): \(summary), identical")
        }
        return Report(identical: true, lines: lines, newSession: sh.sessionID)
    }
}
