import Episodes
import Foundation
import SessionLog
import Support

/// One served session's record in the session log: a gtr session of its own (tagged `served`, with the client's
/// name and address), every state-changing request logged as the REPL command it equals (`env points24 seed=3`,
/// `act 10`, `act text="…"`, `correct text="…"`), and the steps and corrections under it. `replay SESSION_ID` in the
/// REPL plays the commands again and compares every step.
final class ServedLog: EpisodeSink {
    let log: SessionLog
    private var seq = 0

    init(path: String, client: String, peer: String, transport: String) {
        let config = JSONValue.object([
            ("interactive", .bool(false)), ("color", .bool(false)), ("served", .bool(true)),
            ("client", .string(client)), ("peer", .string(peer)), ("transport", .string(transport)),
        ]).serialized()
        let info = SessionInfo(gtrVersion: BuildInfo.version, gitCommit: BuildInfo.gitCommit,
                               host: ProcessInfo.processInfo.hostName, config: config)
        log = SessionLog(path: path, info: info)
        log.onWarning = { FileHandle.standardError.write(Data(("gtr serve: warning: " + $0 + "\n").utf8)) }
    }

    var sessionID: Int64 { log.sessionID }

    /// Runs `body` as command `text`: its steps are logged under the command's number, then the command's row
    /// (status and a short output line; an error's message when it throws).
    func command<T>(_ text: String, _ body: () throws -> T, output: (T) -> String) throws -> T {
        seq += 1
        let started = Date().timeIntervalSince1970
        do {
            let v = try body()
            log.logCommand(seq: seq, text: text, startedAt: started, duration: Date().timeIntervalSince1970 - started,
                           status: "ok", output: output(v))
            return v
        } catch {
            log.logCommand(seq: seq, text: text, startedAt: started, duration: Date().timeIntervalSince1970 - started,
                           status: "error", output: "error: \(error)")
            throw error
        }
    }

    var commandSeq: Int { seq }

    func episodeBegan(_ episode: Int, env: String, seed: UInt64?, options: String) {
        log.beginEpisode(episode, env: env, seed: seed, options: options)
    }

    func stepped(_ s: EpisodeStep) {
        log.logStep(StepRecord(episode: s.episode, t: s.t, env: s.env, observation: s.observation, action: s.action,
                               source: s.source.rawValue, reward: s.reward, done: s.done, info: s.info), commandSeq: seq)
    }

    func episodeEnded(_ episode: Int, return r: Double, length: Int) {
        log.endEpisode(episode, return: r, length: length)
        log.flush()
    }

    func close() { log.close() }
}
