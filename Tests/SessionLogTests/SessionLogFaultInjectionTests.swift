import Foundation
import Testing
@testable import SessionLog

/// Issue 16 §2: under every fault the log either writes a row under its session's real id or saves it, with the
/// session row, as SQL that applies to a fresh database. Nothing is orphaned, nothing is lost.
@Suite(.serialized) struct SessionLogFaultInjectionTests {
    let info = SessionInfo(gtrVersion: "test", gitCommit: nil, host: "h", config: "{}")

    func tempDir() -> String {
        let d = NSTemporaryDirectory() + "gtr-fault-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }

    func writeRows(_ log: SessionLog, commands: Int = 3, steps: Int = 5, observation: String = "obs") {
        for k in 1...commands {
            log.logCommand(seq: k, text: "cmd \(k)", startedAt: 0, duration: 0, status: "ok", output: "out \(k)")
        }
        log.beginEpisode(1, env: "points24", seed: 7, options: "")
        for t in 0..<steps {
            log.logStep(StepRecord(episode: 1, t: t, env: "points24", observation: observation, action: "a'\(t)", source: "script",
                                   reward: 0, done: false, info: ""), commandSeq: 1)
        }
        log.endEpisode(1, return: 1, length: steps)
    }

    /// Applies a saved SQL file to a fresh database and checks that it holds one session with every row under it.
    func checkSaved(_ file: String, commands: Int = 3, steps: Int = 5) throws {
        let fresh = tempDir() + "/restored.sqlite"
        let c = try SQLiteConnection(path: fresh)
        try c.exec(try String(contentsOfFile: file, encoding: .utf8))
        #expect(try c.scalarInt("SELECT COUNT(*) FROM sessions WHERE ended_at IS NOT NULL") == 1)
        let id = try c.scalarInt("SELECT id FROM sessions")
        #expect(try c.scalarInt("SELECT COUNT(*) FROM commands WHERE session_id=\(id)") == Int64(commands))
        #expect(try c.scalarInt("SELECT COUNT(*) FROM steps WHERE session_id=\(id)") == Int64(steps))
        #expect(try c.scalarInt("SELECT COUNT(*) FROM episodes WHERE session_id=\(id) AND length=\(steps)") == 1)
        #expect(try c.scalarInt("SELECT COUNT(*) FROM steps WHERE session_id<>\(id)") == 0)
        c.close()
    }

    @Test(arguments: ["garbage", "directory", "locked"])
    func aDatabaseThatCannotBeWrittenAtStartLosesNoRow(_ fault: String) throws {
        let dir = tempDir(), fallback = tempDir()
        let path = dir + "/log.sqlite"
        var holder: SQLiteConnection?
        switch fault {
        case "garbage": try Data((0..<8192).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ 7) }).write(to: URL(fileURLWithPath: path))
        case "directory": try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        default:
            SessionLog(path: path, info: info).close()
            holder = try SQLiteConnection(path: path)
            try holder!.exec("PRAGMA busy_timeout=0; BEGIN EXCLUSIVE")
        }
        let log = SessionLog(path: path, info: info, fallbackDirectories: [fallback])
        log.openBusyMillis = 100; log.busyMillis = 10
        var warnings: [String] = []
        log.onWarning = { warnings.append($0) }
        #expect(!log.healthy && log.sessionID == 0)
        writeRows(log)
        log.close()
        holder?.close()
        let saved = try #require(log.savedTo, "\(warnings)")
        // The database's own folder takes the file unless the path itself is in the way.
        #expect(saved.hasPrefix(dir + "/"))
        #expect(warnings.last?.contains(saved) == true, "\(warnings)")
        try checkSaved(saved)
        if fault == "locked" {
            // Nothing was written under another id in the real database either.
            let c = try SQLiteConnection(path: path, readOnly: true)
            #expect(try c.scalarInt("SELECT COUNT(*) FROM sessions") == 1)
            #expect(try c.scalarInt("SELECT COUNT(*) FROM commands") == 0)
        }
    }

    /// A lock held while the session starts and released later: the session row and every row are written under
    /// the session's real id, and `sessions` lists it.
    @Test func aLockAtStartThatClearsLaterOrphansNothing() throws {
        let dir = tempDir()
        let path = dir + "/log.sqlite"
        SessionLog(path: path, info: info).close()
        let holder = try SQLiteConnection(path: path)
        try holder.exec("PRAGMA busy_timeout=0; BEGIN EXCLUSIVE")
        let log = SessionLog(path: path, info: info)
        log.onWarning = { _ in }
        #expect(!log.healthy && log.sessionID == 0)
        writeRows(log)
        try holder.exec("COMMIT")
        Thread.sleep(forTimeInterval: 1.1)
        log.flush()
        #expect(log.healthy && log.pendingRows == 0 && log.sessionID == 2)
        log.close()
        #expect(log.savedTo == nil)
        #expect(try holder.scalarInt("SELECT COUNT(*) FROM commands WHERE session_id=2") == 3)
        #expect(try holder.scalarInt("SELECT COUNT(*) FROM steps WHERE session_id=2") == 5)
        #expect(try holder.scalarInt("SELECT COUNT(*) FROM steps WHERE session_id NOT IN (SELECT id FROM sessions)") == 0)
    }

    /// Eight shells create one fresh database at the same moment: every session and every row arrives.
    @Test func writersCreatingAFreshDatabaseAtOnceAllSucceed() throws {
        for round in 0..<3 {
            let path = tempDir() + "/fresh-\(round).sqlite"
            let n = 8
            let start = DispatchSemaphore(value: 0)
            let group = DispatchGroup()
            let saved = NSLock()
            nonisolated(unsafe) var savedFiles: [String] = []
            for _ in 0..<n {
                group.enter()
                Thread.detachNewThread {
                    start.wait()
                    let log = SessionLog(path: path, info: info)
                    log.onWarning = { _ in }
                    self.writeRows(log)
                    log.close()
                    if let s = log.savedTo { saved.lock(); savedFiles.append(s); saved.unlock() }
                    group.leave()
                }
            }
            for _ in 0..<n { start.signal() }
            group.wait()
            #expect(savedFiles.isEmpty, "round \(round): rows saved instead of written: \(savedFiles)")
            let c = try SQLiteConnection(path: path, readOnly: true)
            #expect(try c.scalarInt("SELECT COUNT(*) FROM sessions WHERE ended_at IS NOT NULL") == Int64(n))
            #expect(try c.scalarInt("SELECT COUNT(*) FROM commands") == Int64(3 * n))
            #expect(try c.scalarInt("SELECT COUNT(*) FROM steps") == Int64(5 * n))
            #expect(try c.scalarInt("SELECT COUNT(DISTINCT session_id) FROM steps") == Int64(n))
            #expect(try c.scalarInt("SELECT COUNT(*) FROM steps WHERE session_id NOT IN (SELECT id FROM sessions)") == 0)
        }
    }

    /// The database's folder refuses the file (simulated): it goes to the next folder, and the message says so.
    @Test func unwrittenRowsGoToTheFirstFolderThatTakesThem() throws {
        let dir = tempDir(), second = tempDir(), third = tempDir()
        let path = dir + "/log.sqlite"
        try Data("not a database, not at all".utf8).write(to: URL(fileURLWithPath: path))
        let log = SessionLog(path: path, info: info, fallbackDirectories: [second, third])
        var warnings: [String] = []
        log.onWarning = { warnings.append($0) }
        log.writeFile = { data, file in
            guard !file.hasPrefix(dir + "/"), !file.hasPrefix(second + "/") else { throw CocoaError(.fileWriteNoPermission) }
            try data.write(to: URL(fileURLWithPath: file))
        }
        writeRows(log)
        log.close()
        let saved = try #require(log.savedTo)
        #expect(saved.hasPrefix(third + "/") && warnings.last?.contains(saved) == true)
        try checkSaved(saved)
        // Nowhere at all: one clear line that says the rows are lost and where it tried.
        let lost = SessionLog(path: path, info: info, fallbackDirectories: [second])
        var last = ""
        lost.onWarning = { last = $0 }
        lost.writeFile = { _, _ in throw CocoaError(.fileWriteNoPermission) }
        writeRows(lost)
        lost.close()
        #expect(lost.savedTo == nil && last.contains("nor saved") && last.contains(second) && !last.contains("\n"))
    }

    /// A real full disk (a 256 KiB tmpfs) and a real read-only folder (a read-only bind mount), where this machine
    /// lets the test mount them (root in a container that allows it); else the simulated tests above stand alone.
    @Test(.enabled(if: Mounts.allowed, "mounting a tmpfs is not allowed here; the simulated fault tests cover this"))
    func aFullDiskAndAReadOnlyFolderLoseNoRow() throws {
        let full = tempDir(), fallback = tempDir()
        try Mounts.run(["-t", "tmpfs", "-o", "size=256k", "tmpfs", full])
        defer { try? Mounts.run(["-l", full], umount: true) }
        let log = SessionLog(path: full + "/log.sqlite", info: info, fallbackDirectories: [fallback])
        log.onWarning = { _ in }
        let big = String(repeating: "x", count: 3000)
        writeRows(log, commands: 3, steps: 400, observation: big)  // ~1.2 MB of steps into 256 KiB
        log.flush()
        #expect(!log.healthy)
        log.close()
        let saved = try #require(log.savedTo)
        #expect(saved.hasPrefix(fallback + "/"))  // the full disk cannot take the file either
        // Rows written before the disk filled are in the database; the rest are in the file, none in both.
        let c = try SQLiteConnection(path: full + "/log.sqlite", readOnly: true)
        let written = try c.scalarInt("SELECT COUNT(*) FROM steps")
        c.close()
        let text = try String(contentsOfFile: saved, encoding: .utf8)
        #expect(Int64(text.components(separatedBy: "INSERT INTO steps(").count - 1) + written == 400)

        // A read-only folder holding a healthy database.
        let ro = tempDir()
        SessionLog(path: ro + "/log.sqlite", info: info).close()
        try Mounts.run(["--bind", ro, ro])
        defer { try? Mounts.run(["-l", ro], umount: true) }
        try Mounts.run(["-o", "remount,ro,bind", ro])
        let log2 = SessionLog(path: ro + "/log.sqlite", info: info, fallbackDirectories: [fallback])
        log2.onWarning = { _ in }
        writeRows(log2)
        log2.close()
        let saved2 = try #require(log2.savedTo)
        #expect(saved2.hasPrefix(fallback + "/"))
        try checkSaved(saved2)
    }
}

enum Mounts {
    struct Failed: Error { var status: Int32 }
    static func run(_ args: [String], umount: Bool = false) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: umount ? "/bin/umount" : "/bin/mount")
        p.arguments = args
        p.standardOutput = FileHandle.nullDevice; p.standardError = FileHandle.nullDevice
        try p.run(); p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw Failed(status: p.terminationStatus) }
    }

    static let allowed: Bool = {
        guard FileManager.default.isExecutableFile(atPath: "/bin/mount") else { return false }
        let d = NSTemporaryDirectory() + "gtr-mount-probe-" + UUID().uuidString
        try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        guard (try? run(["-t", "tmpfs", "-o", "size=64k", "tmpfs", d])) != nil else { return false }
        try? run([d], umount: true)
        return true
    }()
}
