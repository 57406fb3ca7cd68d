// Longer than ~400 lines on purpose: the schema, its migrations, the writer queue and the readers replay uses
// must change together (one schema version), so they stay in one file.
import Foundation

/// Facts recorded about a session when it starts.
public struct SessionInfo: Sendable {
    public var gtrVersion: String
    public var gitCommit: String?
    public var host: String
    public var config: String
    public var replayOf: Int64?
    public init(gtrVersion: String, gitCommit: String?, host: String, config: String, replayOf: Int64? = nil) {
        self.gtrVersion = gtrVersion; self.gitCommit = gitCommit; self.host = host; self.config = config; self.replayOf = replayOf
    }
}

/// One logged step (the `steps` table).
public struct StepRecord: Equatable, Sendable {
    public var episode: Int
    public var t: Int
    public var env: String
    public var observation: String
    public var action: String
    public var source: String  // human | agent | script
    public var reward: Double
    public var done: Bool
    public var info: String
    public init(episode: Int, t: Int, env: String, observation: String, action: String, source: String, reward: Double, done: Bool, info: String) {
        self.episode = episode; self.t = t; self.env = env; self.observation = observation; self.action = action
        self.source = source; self.reward = reward; self.done = done; self.info = info
    }
}

/// A logged command (the `commands` table).
/// One agent generation, thought edit, rescore or continuation, as the `generations` table stores it.
public struct GenerationRecord: Equatable, Sendable {
    public var episode: Int
    public var t: Int
    public var kind: String  // generate | edit | rescore | continue
    public var model: String
    public var env: String
    public var prompt: String
    public var text: String
    public var tokenIDs: [Int32]
    public var logProbs: [Float]
    public var thoughtLogProb: Float?
    public var actionLogProb: Float?
    public var lambda: Float
    public var value: Float?
    public var config: String
    public init(episode: Int, t: Int, kind: String, model: String, env: String, prompt: String, text: String, tokenIDs: [Int32],
                logProbs: [Float], thoughtLogProb: Float?, actionLogProb: Float?, lambda: Float, value: Float?, config: String) {
        self.episode = episode; self.t = t; self.kind = kind; self.model = model; self.env = env; self.prompt = prompt
        self.text = text; self.tokenIDs = tokenIDs; self.logProbs = logProbs; self.thoughtLogProb = thoughtLogProb
        self.actionLogProb = actionLogProb; self.lambda = lambda; self.value = value; self.config = config
    }
}

/// One corrector answer as the ledger stores it (plain values: the log knows nothing about correctors).
public struct CorrectionRecord: Sendable, Equatable {
    public var episode: Int
    public var t: Int
    public var env: String
    public var corrector: String
    public var identity: String
    public var requestHash: String
    public var imageHash: String
    public var prompt: String
    public var thought: String
    public var reply: String
    /// YES, NO or NONE.
    public var verdict: String
    public var possibleSolution: Bool?
    public var targetFormula: String?
    /// The answers as a JSON array of strings.
    public var answers: String
    public var correctedThought: String?
    public var failure: String?
    public var latency: Double
    public var promptTokens: Int
    public var completionTokens: Int
    public var cost: Double
    public var attempts: Int
    public var cached: Bool
    /// The command that asked (set when read back from the log).
    public var commandSeq: Int?

    public init(episode: Int, t: Int, env: String, corrector: String, identity: String, requestHash: String, imageHash: String,
                prompt: String, thought: String, reply: String, verdict: String, possibleSolution: Bool?, targetFormula: String?,
                answers: String, correctedThought: String?, failure: String?, latency: Double, promptTokens: Int,
                completionTokens: Int, cost: Double, attempts: Int, cached: Bool) {
        self.episode = episode; self.t = t; self.env = env; self.corrector = corrector; self.identity = identity
        self.requestHash = requestHash; self.imageHash = imageHash; self.prompt = prompt; self.thought = thought; self.reply = reply
        self.verdict = verdict; self.possibleSolution = possibleSolution; self.targetFormula = targetFormula; self.answers = answers
        self.correctedThought = correctedThought; self.failure = failure; self.latency = latency; self.promptTokens = promptTokens
        self.completionTokens = completionTokens; self.cost = cost; self.attempts = attempts; self.cached = cached
    }

    init(row r: [SQLValue]) {
        func s(_ k: Int) -> String? { if case let .text(v) = r[k] { return v }; return nil }
        func i(_ k: Int) -> Int? { if case let .int(v) = r[k] { return Int(v) }; return nil }
        func d(_ k: Int) -> Double { if case let .real(v) = r[k] { return v }; if case let .int(v) = r[k] { return Double(v) }; return 0 }
        self.init(episode: i(0) ?? 0, t: i(1) ?? 0, env: s(2) ?? "", corrector: s(3) ?? "", identity: s(4) ?? "", requestHash: s(5) ?? "",
                  imageHash: s(6) ?? "", prompt: s(7) ?? "", thought: s(8) ?? "", reply: s(9) ?? "", verdict: s(10) ?? "NONE",
                  possibleSolution: i(11).map { $0 != 0 }, targetFormula: s(12), answers: s(13) ?? "[]", correctedThought: s(14),
                  failure: s(15), latency: d(16), promptTokens: i(17) ?? 0, completionTokens: i(18) ?? 0, cost: d(19),
                  attempts: i(20) ?? 0, cached: (i(21) ?? 0) != 0)
    }
}

public struct CommandRecord: Sendable {
    public var seq: Int
    public var text: String
    public var status: String
    public var output: String
}

/// The SQLite session log: one database file, WAL mode, versioned schema.
///
/// Every row, the session's own row included, goes through one queue. The queue is committed in one transaction
/// per completed top-level command, every `flushInterval` seconds and every `batchSize` rows inside a long
/// command, and for finished episodes: they are committed before the shell prints anything (`commitFinished`)
/// and otherwise at most `episodeCommitDelay` seconds after they end: a busy caller hands them to the log's own
/// queue at half the delay (the commit runs there while the caller goes on), a timer on that queue covers idle
/// spells. So what a user has seen finish is always in the database, and a kill -9 loses at most the unfinished
/// episode and those that ended in the last `episodeCommitDelay` seconds with nothing printed since. A writer
/// takes `writeLock`, then `lock` only to take the queued rows, and writes them holding `writeLock` alone: rows
/// are written in queue order, and queueing waits for SQLite only while a training run commits an update (below).
/// Grouping matters for silent scripts of short episodes: a commit writes each page it touches to the WAL (four
/// for an episode: the steps, their index, the episode and its key), tens of microseconds against a few hundred
/// for the episode (issue 14).
/// The session row is written in the same transaction as the first rows that follow it, and rows take the
/// session's id only when they are written: nothing is ever logged under an id the `sessions` table does not hold.
///
/// Database faults never stop the shell. The first produces one warning through `onWarning`; the connection is
/// reopened (creating and migrating the database if need be) at later flushes, spaced by a back-off of 0.5 s
/// doubling to 30 s, so a locked or failing database costs a command at most one short lock wait (`busyMillis`)
/// and most commands none. Rows still queued when the log closes are saved as self-contained SQL (schema and
/// session row included) to the first writable folder among the database's, `fallbackDirectories`
/// ($GTR_HOME and the system temp folder in the shell), and the warning says where. A background training run
/// writes its metrics from its own thread, holding both locks for an update's rows and their commit.
public final class SessionLog: @unchecked Sendable {
    public static var schemaVersion: Int64 { Int64(migrations.count) }
    public let path: String
    /// The session's id in the database; 0 until the session row has been written.
    public var sessionID: Int64 { writeLock.lock(); defer { writeLock.unlock() }; return writtenSessionID }
    public private(set) var healthy = true
    public var onWarning: (String) -> Void = { FileHandle.standardError.write(Data(("warning: " + $0 + "\n").utf8)) }
    public var batchSize = 1000
    /// Queued rows are committed at the next row after this many seconds (long commands commit as they go).
    public var flushInterval = 2.0
    /// How long one write waits for another process's lock, in milliseconds (opening waits `openBusyMillis`).
    public var busyMillis = 200
    public var openBusyMillis = 2000
    /// Pending rows kept while the database is failing; beyond this the oldest are dropped (and counted).
    public var maxPending = 1_000_000
    public private(set) var droppedRows = 0
    /// Where unwritten rows go when the database's own folder cannot take them, in order.
    public var fallbackDirectories: [String]
    /// Writes a file (tests replace it to simulate a folder that refuses writes).
    public var writeFile: (Data, String) throws -> Void = { data, path in try data.write(to: URL(fileURLWithPath: path)) }
    /// Where the unwritten rows were saved at close, if any.
    public private(set) var savedTo: String?

    private var db: SQLiteConnection?
    /// Guards the queue (`pending` and the state beside it); held only for moments, never while SQLite writes.
    private let lock = NSRecursiveLock()
    /// Guards the connection and one transaction at a time. Taken before `lock`, never after it: a writer takes the
    /// oldest queued rows under both, then writes them holding only this one, so rows reach the database in
    /// queue order while the shell goes on queueing.
    private let writeLock = NSRecursiveLock()
    /// A commit of finished episodes is scheduled on the log's queue.
    private var writerKicked = false
    /// Where the last begun episode's row waits in `pending`: its end is folded into that row while it is still
    /// queued (one INSERT instead of an INSERT and an UPDATE). Cleared whenever rows leave the queue.
    private var queuedBegin: (episode: Int, index: Int)?
    /// A queued row; `sessionArg` is the index of its argument that takes the session's id when it is written.
    private struct Row { var sql: String; var args: [SQLValue]; var sessionArg: Int? }
    private var pending: [Row] = []
    private var statements: [String: SQLiteStatement] = [:]
    private var warned = false
    /// A queued row fails a CHECK list (SQLite must test the batch); SQLite's tests are currently off.
    private var queuedViolation = false
    private var checksSkipped = false
    private var seeds: [UInt64] = []
    private let startInfo: SessionInfo
    private let startedAt: Double
    private let maxPageCount: Int?
    private var writtenSessionID: Int64 = 0
    private var sessionWritten = false
    private var lastFlush: Double
    private var retryAt = 0.0
    private var backoff = 0.0
    /// The longest a finished episode stays uncommitted while nothing is printed; 0 commits each at its end.
    public var episodeCommitDelay = 0.05
    /// When the oldest finished, uncommitted episode ended (nil: none).
    private var finishedSince: Double?
    /// Runs the `episodeCommitDelay` timer.
    private let timerQueue = DispatchQueue(label: "gtr.session-log.timer")
    private var closed = false
    private var timerArmed = false

    /// - Parameter maxPageCount: a size cap in pages (tests use it to simulate a full disk).
    public init(path: String, info: SessionInfo, maxPageCount: Int? = nil, fallbackDirectories: [String] = [NSTemporaryDirectory()]) {
        self.path = path
        startInfo = info
        startedAt = Date().timeIntervalSince1970
        lastFlush = startedAt
        self.maxPageCount = maxPageCount
        self.fallbackDirectories = fallbackDirectories
        // Only the session row is queued: writing it now tells at once whether the database works.
        flush()
    }

    /// The open connection, or a new one: creates the folder and the database, sets the pragmas and migrates.
    private func connection() throws -> SQLiteConnection {
        if let db { return db }
        let folder = (path as NSString).deletingLastPathComponent
        if !folder.isEmpty {
            do { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) } catch {
                throw SQLiteError(code: 14, message: "cannot create the folder \(folder)")
            }
        }
        let c = try SQLiteConnection(path: path)
        do {
            try c.exec("PRAGMA busy_timeout=\(openBusyMillis)")
            try c.exec("PRAGMA journal_mode=WAL")
            try c.exec("PRAGMA synchronous=NORMAL")
            try c.exec("PRAGMA foreign_keys=ON")
            try SessionLog.migrate(c)
            if let maxPageCount { try c.exec("PRAGMA max_page_count=\(maxPageCount)") }
            try c.exec("PRAGMA busy_timeout=\(busyMillis)")
        } catch {
            c.close()
            throw error
        }
        db = c
        statements.removeAll()
        checksSkipped = false
        return c
    }

    /// Schema migrations, applied in order; `PRAGMA user_version` records the applied version. Later issues
    /// append new steps (model outputs, corrections, training runs) without rewriting these tables.
    public static let migrations: [String] = [
        """
        CREATE TABLE IF NOT EXISTS sessions(
          id INTEGER PRIMARY KEY, started_at REAL NOT NULL, ended_at REAL, gtr_version TEXT NOT NULL,
          git_commit TEXT, host TEXT, seeds TEXT, config TEXT, replay_of INTEGER);
        CREATE TABLE IF NOT EXISTS commands(
          session_id INTEGER NOT NULL, seq INTEGER NOT NULL, text TEXT NOT NULL, started_at REAL NOT NULL,
          duration REAL NOT NULL, status TEXT NOT NULL, output TEXT NOT NULL, PRIMARY KEY(session_id, seq));
        CREATE TABLE IF NOT EXISTS episodes(
          session_id INTEGER NOT NULL, episode INTEGER NOT NULL, env TEXT NOT NULL, seed INTEGER, options TEXT,
          started_at REAL NOT NULL, ended_at REAL, return REAL, length INTEGER, success INTEGER,
          PRIMARY KEY(session_id, episode));
        CREATE TABLE IF NOT EXISTS steps(
          id INTEGER PRIMARY KEY, session_id INTEGER NOT NULL, episode INTEGER NOT NULL, t INTEGER NOT NULL,
          env TEXT NOT NULL, command_seq INTEGER, observation TEXT, action TEXT NOT NULL,
          source TEXT NOT NULL CHECK(source IN ('human','agent','script')), reward REAL NOT NULL,
          done INTEGER NOT NULL, info TEXT);
        CREATE INDEX IF NOT EXISTS steps_by_session ON steps(session_id, episode, t);
        """,
        // 2: agent generations, thought edits and rescoring (issue 5).
        """
        CREATE TABLE IF NOT EXISTS generations(
          id INTEGER PRIMARY KEY, session_id INTEGER NOT NULL, command_seq INTEGER, episode INTEGER, t INTEGER,
          kind TEXT NOT NULL CHECK(kind IN ('generate','edit','rescore','continue')), model TEXT, env TEXT,
          prompt TEXT, text TEXT NOT NULL, token_ids TEXT NOT NULL, logprobs TEXT NOT NULL,
          thought_logp REAL, action_logp REAL, lambda REAL, value REAL, config TEXT);
        CREATE INDEX IF NOT EXISTS generations_by_session ON generations(session_id, id);
        """,
        // 3: corrector calls, the ledger and cache (issue 6). No column ever holds an API key.
        """
        CREATE TABLE IF NOT EXISTS corrections(
          id INTEGER PRIMARY KEY, session_id INTEGER NOT NULL, command_seq INTEGER, episode INTEGER, t INTEGER, env TEXT,
          corrector TEXT NOT NULL, identity TEXT NOT NULL, request_hash TEXT NOT NULL, image_hash TEXT, prompt TEXT NOT NULL,
          thought TEXT, reply TEXT, verdict TEXT NOT NULL CHECK(verdict IN ('YES','NO','NONE')), possible_solution INTEGER,
          target_formula TEXT, answers TEXT, corrected_thought TEXT, failure TEXT, latency REAL, prompt_tokens INTEGER,
          completion_tokens INTEGER, cost REAL, attempts INTEGER, cached INTEGER NOT NULL DEFAULT 0);
        CREATE INDEX IF NOT EXISTS corrections_by_hash ON corrections(request_hash, id);
        CREATE INDEX IF NOT EXISTS corrections_by_session ON corrections(session_id, id);
        """,
        // 4: PPO-GTR runs and their metrics per update (issue 13). A run id names `$GTR_HOME/runs/<id>`; a resumed run
        // rewrites the updates after its checkpoint, so (run, update, name) is the key.
        """
        CREATE TABLE IF NOT EXISTS train_runs(
          run_id INTEGER NOT NULL, session_id INTEGER NOT NULL, parent_run INTEGER, parent_update INTEGER, algo TEXT NOT NULL,
          env TEXT NOT NULL, config TEXT NOT NULL, dir TEXT NOT NULL, started_at REAL NOT NULL, PRIMARY KEY(run_id, session_id));
        CREATE TABLE IF NOT EXISTS train_metrics(
          run_id INTEGER NOT NULL, update_index INTEGER NOT NULL, name TEXT NOT NULL, value REAL, session_id INTEGER NOT NULL,
          logged_at REAL NOT NULL, PRIMARY KEY(run_id, update_index, name));
        """,
        // 5: lines typed inside a command (`play`'s moves, an edited thought), so replay can answer them (issue 16).
        """
        CREATE TABLE IF NOT EXISTS command_inputs(
          session_id INTEGER NOT NULL, command_seq INTEGER NOT NULL, k INTEGER NOT NULL, line TEXT NOT NULL,
          PRIMARY KEY(session_id, command_seq, k));
        """,
    ]

    static func migrate(_ c: SQLiteConnection) throws {
        let v = try c.scalarInt("PRAGMA user_version")
        guard v < Int64(migrations.count) else { return }
        try c.transaction {
            for (i, m) in migrations.enumerated() where Int64(i) >= v { try c.exec(m) }
            try c.exec("PRAGMA user_version=\(migrations.count)")
        }
    }

    private func fail(_ error: Error) {
        healthy = false
        if !warned {
            warned = true
            onWarning("session log \(path): \(error); the shell goes on, rows are kept in memory and retried")
        }
    }

    /// Drops the connection after a failure other than a lock (a damaged or replaced file, a full disk, a folder
    /// that went away), so the next attempt opens the database afresh.
    private func dropConnection() {
        statements.removeAll()
        db?.close(); db = nil
        checksSkipped = false
    }

    /// The schema's CHECK lists (steps.source, generations.kind, corrections.verdict). SQLite tests such a list by
    /// building a temporary table for every inserted row, most of what a step row costs; so rows are tested against
    /// the same lists when they are queued (bytewise, as SQLite compares), and while every queued row passes, the
    /// writer lets SQLite skip its own test. A row that fails turns SQLite's test back on, so SQLite refuses it
    /// exactly as it always has (its batch stays queued, the warning, the saved SQL on close).
    static let checkedLists = (stepSource: ["human", "agent", "script"], generationKind: ["generate", "edit", "rescore", "continue"],
                               verdict: ["YES", "NO", "NONE"])

    static func passes(_ value: String, _ list: [String]) -> Bool {
        list.contains { $0.utf8.count == value.utf8.count && $0.utf8.elementsEqual(value.utf8) }
    }

    /// Queues a row. `sessionArg` is the index of the argument that holds the session id (filled in when written).
    private func enqueue(_ sql: String, _ args: [SQLValue], sessionArg: Int?, passesChecks: Bool = true, beginsEpisode: Int? = nil) {
        lock.lock()
        if !passesChecks { queuedViolation = true }
        pending.append(Row(sql: sql, args: args, sessionArg: sessionArg))
        trimPending()
        if let e = beginsEpisode { queuedBegin = (e, pending.count - 1) }
        let now = Date().timeIntervalSince1970
        let due = pending.count >= batchSize || now - lastFlush >= flushInterval
        // Finished episodes of a busy caller are handed to the log's queue at half the delay: the commit runs on
        // the other core while the caller goes on (the timer only serves idle spells).
        let kick = !due && !writerKicked && !closed && healthy && (finishedSince.map { now - $0 >= episodeCommitDelay / 2 } ?? false)
        if kick { writerKicked = true }
        lock.unlock()
        if due {
            flush()
        } else if kick {
            timerQueue.async { [weak self] in self?.flush(force: false, unlessClosed: true) }
        }
    }

    /// Drops the oldest queued rows beyond `maxPending` (counted). Called holding `lock`.
    private func trimPending() {
        if pending.count > maxPending {
            queuedBegin = nil
            let extra = pending.count - maxPending
            pending.removeFirst(extra); droppedRows += extra
        }
    }

    /// Commits every queued row, and the session row if it is not written yet, in one transaction. Safe to call
    /// often: while the database is failing, attempts are spaced by the back-off and the others return at once.
    public func flush() { flush(force: false) }

    /// An episode has ended (its rows are queued): it is committed at the next `commitFinished`, the next flush,
    /// or `episodeCommitDelay` seconds from now, whichever comes first.
    public func episodeFinished() {
        if episodeCommitDelay <= 0 { flush(force: false); return }
        lock.lock(); defer { lock.unlock() }
        guard finishedSince == nil, !closed else { return }
        finishedSince = Date().timeIntervalSince1970
        if !timerArmed { armTimer(after: episodeCommitDelay) }
    }

    /// The timer commits the finished episodes that have waited the whole delay (the busy shell has usually
    /// committed them at half of it) and otherwise waits for the oldest one's turn.
    private func armTimer(after seconds: Double) {
        timerArmed = true
        timerQueue.asyncAfter(deadline: .now() + seconds) { [weak self] in
            guard let self else { return }
            self.lock.lock()
            self.timerArmed = false
            guard let since = self.finishedSince, !self.closed else { self.lock.unlock(); return }
            let waited = Date().timeIntervalSince1970 - since
            let due = waited >= self.episodeCommitDelay * 0.999
            if !due { self.armTimer(after: self.episodeCommitDelay - waited) }
            self.lock.unlock()
            if due { self.flush(force: false, unlessClosed: true) }
        }
    }

    /// Commits now if a finished episode is still uncommitted (the shell calls it before it prints); cheap if not.
    public func commitFinished() {
        lock.lock()
        let waiting = finishedSince != nil && !closed
        lock.unlock()
        if waiting { flush(force: false) }
    }

    /// Takes every queued row under both locks, then writes them holding only `writeLock`; rows that fail go back
    /// to the front of the queue. `unlessClosed`: the log's own queue, which must not write after `close`.
    private func flush(force: Bool, unlessClosed: Bool = false) {
        writeLock.lock(); defer { writeLock.unlock() }
        lock.lock()
        let now = Date().timeIntervalSince1970
        lastFlush = now
        writerKicked = false
        guard !(unlessClosed && closed), !pending.isEmpty || !sessionWritten, healthy || force || now >= retryAt else { lock.unlock(); return }
        let batch = pending, violation = queuedViolation, finished = finishedSince
        pending.removeAll(keepingCapacity: true)
        queuedViolation = false; finishedSince = nil; queuedBegin = nil
        lock.unlock()
        do {
            let c = try connection()
            // Skip SQLite's CHECK lists while every queued row passed the same lists here (see `checkedLists`).
            let skipChecks = !violation
            if skipChecks != checksSkipped {
                try c.exec("PRAGMA ignore_check_constraints=\(skipChecks ? "ON" : "OFF")")
                checksSkipped = skipChecks
            }
            let id: Int64 = try c.transaction {
                var id = writtenSessionID
                if !sessionWritten {
                    let (sql, args) = sessionRow()
                    try c.prepare(sql).run(args)
                    id = c.lastInsertRowID
                }
                // Runs of rows share one statement (a step per act): comparing with the last one's SQL, the same
                // string literal, is cheap where hashing it for the cache is not.
                var last: (sql: String, statement: SQLiteStatement)?
                for row in batch {
                    let s: SQLiteStatement
                    if let l = last, l.sql == row.sql {
                        s = l.statement
                    } else if let cached = statements[row.sql] {
                        s = cached
                    } else {
                        s = try c.prepare(row.sql, persistent: true); statements[row.sql] = s
                    }
                    last = (row.sql, s)
                    if let k = row.sessionArg {
                        var args = row.args
                        args[k] = .int(id)
                        try s.run(args)
                    } else {
                        try s.run(row.args)
                    }
                }
                return id
            }
            writtenSessionID = id
            sessionWritten = true
            backoff = 0
            if !healthy { healthy = true; if warned { onWarning("session log \(path) recovered; queued rows written") }; warned = false }
        } catch {
            // the batch goes back in front of whatever was queued meanwhile
            lock.lock()
            pending = batch + pending
            queuedBegin = nil
            trimPending()
            if violation { queuedViolation = true }
            if let finished { finishedSince = min(finished, finishedSince ?? finished) }
            lock.unlock()
            fail(error)
            if !((error as? SQLiteError)?.isBusy ?? false) { dropConnection() }
            backoff = min(30, max(0.5, backoff * 2))
            retryAt = Date().timeIntervalSince1970 + backoff
        }
    }

    /// The session row: what was recorded when the session started.
    private func sessionRow() -> (String, [SQLValue]) {
        ("INSERT INTO sessions(started_at, gtr_version, git_commit, host, config, replay_of) VALUES (?,?,?,?,?,?)",
         [.real(startedAt), .text(startInfo.gtrVersion), startInfo.gitCommit.map { .text($0) } ?? .null, .text(startInfo.host),
          .text(startInfo.config), startInfo.replayOf.map { .int($0) } ?? .null])
    }

    public var pendingRows: Int { lock.lock(); defer { lock.unlock() }; return pending.count }

    /// A training run began (or a resumed one continues) in this session.
    public func logTrainingRun(_ run: Int, parent: (run: Int, update: Int)?, algo: String, env: String, config: String, dir: String) {
        enqueue("INSERT OR REPLACE INTO train_runs(run_id, session_id, parent_run, parent_update, algo, env, config, dir, started_at) VALUES (?,?,?,?,?,?,?,?,?)",
                [.int(Int64(run)), .null, parent.map { .int(Int64($0.run)) } ?? .null, parent.map { .int(Int64($0.update)) } ?? .null,
                 .text(algo), .text(env), .text(config), .text(dir), .real(Date().timeIntervalSince1970)], sessionArg: 1)
    }

    /// One update's metrics, committed at once (the trainer's thread calls this; a kill -9 keeps every finished update).
    public func logTrainingMetrics(run: Int, update: Int, values: [String: Double]) {
        writeLock.lock(); defer { writeLock.unlock() }
        lock.lock(); defer { lock.unlock() }
        let now = Date().timeIntervalSince1970
        for (k, v) in values.sorted(by: { $0.key < $1.key }) {
            enqueue("INSERT OR REPLACE INTO train_metrics(run_id, update_index, name, value, session_id, logged_at) VALUES (?,?,?,?,?,?)",
                    [.int(Int64(run)), .int(Int64(update)), .text(k), v.isFinite ? .real(v) : .null, .null, .real(now)], sessionArg: 4)
        }
        flush()
    }

    /// (update, value) of a metric of a run, in update order (NaN where the value was not finite).
    public func trainingMetric(run: Int, name: String) throws -> [(update: Int, value: Double)] {
        let c = try reader()
        defer { c.close() }
        return try c.query("SELECT update_index, value FROM train_metrics WHERE run_id=? AND name=? ORDER BY update_index",
                           [.int(Int64(run)), .text(name)]).rows.compactMap { r in
            guard case let .int(u) = r[0] else { return nil }
            switch r[1] {
            case let .real(v): return (Int(u), v)
            case let .int(v): return (Int(u), Double(v))
            default: return (Int(u), .nan)
            }
        }
    }

    /// The metric names a run logged.
    public func trainingMetricNames(run: Int) throws -> [String] {
        let c = try reader()
        defer { c.close() }
        return try c.query("SELECT DISTINCT name FROM train_metrics WHERE run_id=? ORDER BY name", [.int(Int64(run))]).rows.compactMap {
            if case let .text(t) = $0[0] { return t }; return nil
        }
    }

    public func logCommand(seq: Int, text: String, startedAt: Double, duration: Double, status: String, output: String) {
        enqueue("INSERT OR REPLACE INTO commands(session_id, seq, text, started_at, duration, status, output) VALUES (?,?,?,?,?,?,?)",
                [.null, .int(Int64(seq)), .text(text), .real(startedAt), .real(duration), .text(status), .text(output)], sessionArg: 0)
    }

    /// Line `k` (0-based) typed inside command `seq`.
    public func logInput(seq: Int, k: Int, line: String) {
        enqueue("INSERT OR REPLACE INTO command_inputs(session_id, command_seq, k, line) VALUES (?,?,?,?)",
                [.null, .int(Int64(seq)), .int(Int64(k)), .text(line)], sessionArg: 0)
    }

    /// The lines typed inside each command of a session, by command seq, in order.
    public static func inputs(in c: SQLiteConnection, session: Int64) throws -> [Int: [String]] {
        var out: [Int: [String]] = [:]
        for r in try c.query("SELECT command_seq, line FROM command_inputs WHERE session_id=? ORDER BY command_seq, k", [.int(session)]).rows {
            guard case let .int(seq) = r[0], case let .text(line) = r[1] else { continue }
            out[Int(seq), default: []].append(line)
        }
        return out
    }

    public func beginEpisode(_ episode: Int, env: String, seed: UInt64?, options: String) {
        if let seed { seeds.append(seed) }
        enqueue(Self.beginEpisodeSQL, [.null, .int(Int64(episode)), .text(env), seed.map { .int(Int64(bitPattern: $0)) } ?? .null,
                                       .text(options), .real(Date().timeIntervalSince1970)], sessionArg: 0, beginsEpisode: episode)
    }

    static let beginEpisodeSQL = "INSERT OR REPLACE INTO episodes(session_id, episode, env, seed, options, started_at) VALUES (?,?,?,?,?,?)"
    static let wholeEpisodeSQL = """
        INSERT OR REPLACE INTO episodes(session_id, episode, env, seed, options, started_at, ended_at, return, length, success)
        VALUES (?,?,?,?,?,?,?,?,?,?)
        """

    public func endEpisode(_ episode: Int, return ret: Double, length: Int) {
        lock.lock()
        if let q = queuedBegin, q.episode == episode, q.index < pending.count, pending[q.index].sql == Self.beginEpisodeSQL {
            // the episode's row is still queued: it is written once, whole
            pending[q.index] = Row(sql: Self.wholeEpisodeSQL, args: pending[q.index].args + [
                .real(Date().timeIntervalSince1970), .real(ret), .int(Int64(length)), .int(ret > 0 ? 1 : 0)], sessionArg: 0)
            queuedBegin = nil
            lock.unlock()
            return
        }
        lock.unlock()
        enqueue("UPDATE episodes SET ended_at=?, return=?, length=?, success=? WHERE session_id=? AND episode=?",
                [.real(Date().timeIntervalSince1970), .real(ret), .int(Int64(length)), .int(ret > 0 ? 1 : 0), .null, .int(Int64(episode))], sessionArg: 4)
    }

    public func logStep(_ r: StepRecord, commandSeq: Int) {
        enqueue("INSERT INTO steps(session_id, episode, t, env, command_seq, observation, action, source, reward, done, info) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                [.null, .int(Int64(r.episode)), .int(Int64(r.t)), .text(r.env), .int(Int64(commandSeq)), .text(r.observation),
                 .text(r.action), .text(r.source), .real(r.reward), .int(r.done ? 1 : 0), .text(r.info)],
                sessionArg: 0, passesChecks: Self.passes(r.source, Self.checkedLists.stepSource))
    }

    public func logGeneration(_ g: GenerationRecord, commandSeq: Int) {
        enqueue("""
            INSERT INTO generations(session_id, command_seq, episode, t, kind, model, env, prompt, text, token_ids, logprobs,
              thought_logp, action_logp, lambda, value, config) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
            """,
                [.null, .int(Int64(commandSeq)), .int(Int64(g.episode)), .int(Int64(g.t)), .text(g.kind), .text(g.model),
                 .text(g.env), .text(g.prompt), .text(g.text), .text(g.tokenIDs.map(String.init).joined(separator: ",")),
                 .text(g.logProbs.map { String(format: "%.6f", $0) }.joined(separator: ",")),
                 g.thoughtLogProb.map { .real(Double($0)) } ?? .null, g.actionLogProb.map { .real(Double($0)) } ?? .null,
                 .real(Double(g.lambda)), g.value.map { .real(Double($0)) } ?? .null, .text(g.config)],
                sessionArg: 0, passesChecks: Self.passes(g.kind, Self.checkedLists.generationKind))
    }

    public func logCorrection(_ c: CorrectionRecord, commandSeq: Int) {
        enqueue("""
            INSERT INTO corrections(session_id, command_seq, episode, t, env, corrector, identity, request_hash, image_hash, prompt,
              thought, reply, verdict, possible_solution, target_formula, answers, corrected_thought, failure, latency,
              prompt_tokens, completion_tokens, cost, attempts, cached) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
            """, [.null, .int(Int64(commandSeq)), .int(Int64(c.episode)), .int(Int64(c.t)), .text(c.env), .text(c.corrector),
                  .text(c.identity), .text(c.requestHash), .text(c.imageHash), .text(c.prompt), .text(c.thought), .text(c.reply),
                  .text(c.verdict), c.possibleSolution.map { .int($0 ? 1 : 0) } ?? .null, c.targetFormula.map { .text($0) } ?? .null,
                  .text(c.answers), c.correctedThought.map { .text($0) } ?? .null, c.failure.map { .text($0) } ?? .null,
                  .real(c.latency), .int(Int64(c.promptTokens)), .int(Int64(c.completionTokens)), .real(c.cost), .int(Int64(c.attempts)),
                  .int(c.cached ? 1 : 0)], sessionArg: 0, passesChecks: Self.passes(c.verdict, Self.checkedLists.verdict))
    }

    /// The latest successful answer to a request (any session): what the correction cache serves. Pending rows
    /// are written first so an answer from earlier in this session is found too.
    public func cachedCorrection(requestHash: String) -> CorrectionRecord? {
        writeLock.lock(); defer { writeLock.unlock() }
        flush()
        guard let c = db else { return nil }
        let sql = """
            SELECT episode, t, env, corrector, identity, request_hash, image_hash, prompt, thought, reply, verdict, possible_solution,
              target_formula, answers, corrected_thought, failure, latency, prompt_tokens, completion_tokens, cost, attempts, cached
            FROM corrections WHERE request_hash=? AND failure IS NULL ORDER BY id DESC LIMIT 1
            """
        guard let rows = try? c.query(sql, [.text(requestHash)]).rows, let r = rows.first else { return nil }
        return CorrectionRecord(row: r)
    }

    /// Every correction of a session, in order, with the command that asked for it (replay answers each
    /// command with its own logged corrections).
    public static func corrections(in c: SQLiteConnection, session: Int64) throws -> [CorrectionRecord] {
        let sql = """
            SELECT command_seq, episode, t, env, corrector, identity, request_hash, image_hash, prompt, thought, reply, verdict, possible_solution,
              target_formula, answers, corrected_thought, failure, latency, prompt_tokens, completion_tokens, cost, attempts, cached
            FROM corrections WHERE session_id=? ORDER BY id
            """
        return try c.query(sql, [.int(session)]).rows.map { r in
            var rec = CorrectionRecord(row: Array(r.dropFirst()))
            if case let .int(s) = r[0] { rec.commandSeq = Int(s) }
            return rec
        }
    }

    /// Marks the session ended and flushes everything (waiting up to `openBusyMillis` for a lock this once);
    /// rows that still cannot be written are saved as SQL (see `saveUnwritten`).
    public func close() {
        writeLock.lock(); defer { writeLock.unlock() }
        lock.lock(); defer { lock.unlock() }
        let s = seeds.map(String.init).joined(separator: ",")
        enqueue("UPDATE sessions SET ended_at=?, seeds=? WHERE id=?", [.real(Date().timeIntervalSince1970), .text(s), .null], sessionArg: 2)
        busyMillis = openBusyMillis
        try? db?.exec("PRAGMA busy_timeout=\(openBusyMillis)")
        flush(force: true)
        if !pending.isEmpty || !sessionWritten { saveUnwritten() }
        statements.removeAll()
        db?.close(); db = nil
        closed = true; finishedSince = nil
    }

    /// The queued rows as one self-contained SQL script: the schema (every statement is IF NOT EXISTS), the
    /// session row when it was never written (its new id is kept in a temp table that the rows read), then the
    /// rows, in one transaction. `sqlite3 DB < FILE` applies it to the database or to a fresh one.
    func unwrittenSQL() -> String {
        func lit(_ v: SQLValue) -> String {
            switch v {
            case .null: return "NULL"
            case let .int(i): return String(i)
            case let .real(d): return d.isFinite ? String(d) : "NULL"
            case let .text(t): return "'" + t.replacingOccurrences(of: "'", with: "''") + "'"
            }
        }
        func statement(_ sql: String, _ args: [SQLValue], session: String?, at index: Int?) -> String {
            var out = "", k = 0
            for ch in sql {
                if ch == "?", k < args.count { out += (k == index ? session ?? "NULL" : lit(args[k])); k += 1 } else { out.append(ch) }
            }
            return out + ";\n"
        }
        var text = "-- gtr session log rows that could not be written to \(path)\n-- apply with: sqlite3 \(path) < THIS_FILE\nBEGIN;\n"
        for m in Self.migrations { text += m.trimmingCharacters(in: .whitespacesAndNewlines) + "\n" }
        let session: String
        if sessionWritten {
            session = String(writtenSessionID)
        } else {
            let (sql, args) = sessionRow()
            text += statement(sql, args, session: nil, at: nil)
            text += "CREATE TEMP TABLE IF NOT EXISTS gtr_unsaved_session(id INTEGER);\nDELETE FROM gtr_unsaved_session;\n"
            text += "INSERT INTO gtr_unsaved_session VALUES (last_insert_rowid());\n"
            session = "(SELECT id FROM gtr_unsaved_session)"
        }
        for row in pending { text += statement(row.sql, row.args, session: session, at: row.sessionArg) }
        return text + "COMMIT;\n"
    }

    /// Rows the database refused are not dropped: they go to `<db file name>.unsaved-<time>.sql` in the first
    /// folder that takes it among the database's and `fallbackDirectories`, and the warning says where.
    private func saveUnwritten() {
        let data = Data(unwrittenSQL().utf8)
        let name = (path as NSString).lastPathComponent + ".unsaved-\(Int(startedAt))-\(getpid()).sql"
        let rows = pending.count + (sessionWritten ? 0 : 1)
        var tried: [String] = []
        for dir in [(path as NSString).deletingLastPathComponent] + fallbackDirectories where !dir.isEmpty && !tried.contains(dir) {
            tried.append(dir)
            let file = (dir as NSString).appendingPathComponent(name)
            do {
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
                try writeFile(data, file)
                savedTo = file
                onWarning("\(rows) session-log row(s) could not be written to \(path); saved as SQL to \(file) (apply with: sqlite3 \(path) < \(file))")
                return
            } catch {}
        }
        onWarning("\(rows) session-log row(s) could not be written to \(path), nor saved to any of \(tried.joined(separator: ", ")); they are lost")
    }

    // MARK: reading

    /// A read-only connection for `sql`, `log`, `sessions` and replay; writes are refused by SQLite itself.
    public func reader() throws -> SQLiteConnection {
        flush()
        return try SQLiteConnection(path: path, readOnly: true)
    }

    /// Runs one read-only statement. Any statement that could write is refused before it runs.
    public func readOnlyQuery(_ sql: String) throws -> (columns: [String], rows: [[SQLValue]]) {
        let c = try reader()
        let s = try c.prepare(sql)
        guard s.isReadOnly else {
            throw SQLiteError(code: 8, message: "sql is read-only: this statement would modify the database")
        }
        var rows: [[SQLValue]] = []
        while try s.step() {
            rows.append(s.row())
            if rows.count > 100_000 { break }
        }
        return (s.columnNames, rows)
    }

    public static func commands(in c: SQLiteConnection, session: Int64) throws -> [CommandRecord] {
        try c.query("SELECT seq, text, status, output FROM commands WHERE session_id=? ORDER BY seq", [.int(session)]).rows.map { r in
            guard case let .int(seq) = r[0], case let .text(t) = r[1], case let .text(st) = r[2], case let .text(o) = r[3] else {
                throw SQLiteError(code: 11, message: "malformed command row in session \(session)")
            }
            return CommandRecord(seq: Int(seq), text: t, status: st, output: o)
        }
    }

    public static func steps(in c: SQLiteConnection, session: Int64) throws -> [(commandSeq: Int, record: StepRecord)] {
        try c.query("SELECT command_seq, episode, t, env, observation, action, source, reward, done, info FROM steps WHERE session_id=? ORDER BY id",
                    [.int(session)]).rows.map { r in
            func i(_ k: Int) -> Int { if case let .int(v) = r[k] { return Int(v) }; return -1 }
            func s(_ k: Int) -> String { if case let .text(v) = r[k] { return v }; return "" }
            func d(_ k: Int) -> Double { if case let .real(v) = r[k] { return v }; if case let .int(v) = r[k] { return Double(v) }; return .nan }
            return (i(0), StepRecord(episode: i(1), t: i(2), env: s(3), observation: s(4), action: s(5), source: s(6), reward: d(7), done: i(8) != 0, info: s(9)))
        }
    }

    /// (command seq, kind, token ids) of every generation of a session, in order (replay compares them).
    public static func generations(in c: SQLiteConnection, session: Int64) throws -> [(commandSeq: Int, kind: String, tokenIDs: String, text: String)] {
        try c.query("SELECT command_seq, kind, token_ids, text FROM generations WHERE session_id=? ORDER BY id", [.int(session)]).rows.map { r in
            guard case let .int(seq) = r[0], case let .text(k) = r[1], case let .text(ids) = r[2], case let .text(t) = r[3] else {
                throw SQLiteError(code: 11, message: "malformed generation row in session \(session)")
            }
            return (Int(seq), k, ids, t)
        }
    }
}
