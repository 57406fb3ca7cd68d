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
}
