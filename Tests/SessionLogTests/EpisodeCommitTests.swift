import Foundation
import Testing
@testable import SessionLog

/// Finished episodes are committed in groups: before the shell prints (`commitFinished`), or at most
/// `episodeCommitDelay` seconds after they end, never later.
@Suite struct EpisodeCommitTests {
    /// Logs `n` finished three-step episodes starting at `first`.
    func finishEpisodes(_ log: SessionLog, from first: Int, count n: Int) {
        for e in first..<(first + n) {
            log.beginEpisode(e, env: "points24", seed: UInt64(e), options: "")
            for t in 1...3 {
                log.logStep(StepRecord(episode: e, t: t, env: "points24", observation: "o\(t)", action: "(", source: "script",
                                       reward: 0, done: t == 3, info: "{}"), commandSeq: 1)
            }
            log.endEpisode(e, return: 0, length: 3)
            log.episodeFinished()
        }
    }

    /// Rows another process would see now (a separate read-only connection, no flush).
    func committedSteps(_ path: String) throws -> Int64 {
        let c = try SQLiteConnection(path: path, readOnly: true)
        defer { c.close() }
        return try c.scalarInt("SELECT COUNT(*) FROM steps")
    }

    @Test func finishedEpisodesWaitForTheNextOutputAndAreThenAllCommitted() throws {
        let path = tempDir() + "/log.sqlite"
        let log = SessionLog(path: path, info: info)
        log.episodeCommitDelay = 600; log.flushInterval = 600
        finishEpisodes(log, from: 1, count: 5)
        #expect(try committedSteps(path) == 0, "five finished episodes were committed one by one")
        log.commitFinished()
        #expect(try committedSteps(path) == 15)
        // Nothing finished since: commitFinished does not commit rows of an episode still running.
        log.beginEpisode(6, env: "points24", seed: 6, options: "")
        log.logStep(StepRecord(episode: 6, t: 1, env: "points24", observation: "o", action: "(", source: "script",
                               reward: 0, done: false, info: "{}"), commandSeq: 1)
        log.commitFinished()
        #expect(try committedSteps(path) == 15)
        log.close()
        #expect(try committedSteps(path) == 16)
    }

    @Test func aFinishedEpisodeIsCommittedWithinTheDelayWithNothingElseHappening() throws {
        let path = tempDir() + "/log.sqlite"
        let log = SessionLog(path: path, info: info)
        log.episodeCommitDelay = 0.05
        finishEpisodes(log, from: 1, count: 2)
        // The timer commits them although no row, flush or output follows (2 s is far beyond the delay).
        let deadline = Date().addingTimeInterval(2)
        while try committedSteps(path) < 6, Date() < deadline { usleep(10_000) }
        #expect(try committedSteps(path) == 6)
        log.close()
    }

    @Test func aZeroDelayCommitsEveryEpisodeAtItsEnd() throws {
        let path = tempDir() + "/log.sqlite"
        let log = SessionLog(path: path, info: info)
        log.episodeCommitDelay = 0; log.flushInterval = 600
        finishEpisodes(log, from: 1, count: 1)
        #expect(try committedSteps(path) == 3)
        // and a step of a running episode is not committed on its own
        log.beginEpisode(2, env: "points24", seed: 2, options: "")
        log.logStep(StepRecord(episode: 2, t: 1, env: "points24", observation: "o", action: "(", source: "script",
                               reward: 0, done: false, info: "{}"), commandSeq: 1)
        #expect(try committedSteps(path) == 3)
        log.close()
    }

    /// A busy caller hands its finished episodes to the log's queue, which commits them while the caller goes on
    /// queueing (and printing: `commitFinished` from the caller's thread). Every row arrives, in queue order: no
    /// episode's end (an UPDATE) is written before its start, and the steps' ids follow (episode, t).
    @Test func commitsOnTheLogsQueueKeepEveryRowInQueueOrder() throws {
        let path = tempDir() + "/log.sqlite"
        let log = SessionLog(path: path, info: info)
        log.episodeCommitDelay = 0.002; log.flushInterval = 600
        for k in 0..<40 {
            finishEpisodes(log, from: 1 + k * 50, count: 50)
            if k % 7 == 3 { log.commitFinished() }
            usleep(1_500)
        }
        log.close()
        let c = try SQLiteConnection(path: path, readOnly: true)
        defer { c.close() }
        #expect(try c.scalarInt("SELECT COUNT(*) FROM steps") == 6_000)
        #expect(try c.scalarInt("SELECT COUNT(*) FROM episodes WHERE length=3 AND ended_at IS NOT NULL") == 2_000)
        let order = try c.query("SELECT episode, t FROM steps ORDER BY id", []).rows.map { r -> Int64 in
            guard case let .int(e) = r[0], case let .int(t) = r[1] else { return -1 }
            return e * 10 + t
        }
        #expect(order == order.sorted() && Set(order).count == 6_000)
    }

    /// An episode ending while its row is still queued is written once, whole; one whose row was already committed
    /// gets its end by an UPDATE. Both read back the same.
    @Test func anEpisodesEndIsWrittenWhetherItsRowIsQueuedOrCommitted() throws {
        let path = tempDir() + "/log.sqlite"
        let log = SessionLog(path: path, info: info)
        log.episodeCommitDelay = 600; log.flushInterval = 600
        log.beginEpisode(1, env: "points24", seed: 11, options: "a=1")
        log.endEpisode(1, return: 1, length: 2)       // folded into the queued row
        log.beginEpisode(2, env: "points24", seed: 12, options: "a=2")
        log.flush()
        #expect(log.pendingRows == 0)
        log.endEpisode(2, return: -1, length: 5)      // its row is in the database: an UPDATE
        log.beginEpisode(3, env: "points24", seed: 13, options: "a=3")
        log.beginEpisode(4, env: "points24", seed: 14, options: "a=4")
        log.endEpisode(3, return: 0, length: 1)       // not the last begun: an UPDATE after both inserts
        log.close()
        let c = try SQLiteConnection(path: path, readOnly: true)
        defer { c.close() }
        let rows = try c.query("SELECT episode, seed, options, return, length, success, ended_at IS NOT NULL FROM episodes ORDER BY episode", []).rows
        #expect(rows.count == 4)
        #expect(rows[0] == [.int(1), .int(11), .text("a=1"), .real(1), .int(2), .int(1), .int(1)])
        #expect(rows[1] == [.int(2), .int(12), .text("a=2"), .real(-1), .int(5), .int(0), .int(1)])
        #expect(rows[2] == [.int(3), .int(13), .text("a=3"), .real(0), .int(1), .int(0), .int(1)])
        #expect(rows[3] == [.int(4), .int(14), .text("a=4"), .null, .null, .null, .int(0)])
    }
}


