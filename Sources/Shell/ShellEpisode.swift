import Environments
import Episodes
import Foundation
import SessionLog

/// Writes the shell's episodes to the session log under the running command, and keeps them for replay checks.
final class ShellEpisodeSink: EpisodeSink {
    unowned let shell: Shell
    init(shell: Shell) { self.shell = shell }

    func episodeBegan(_ episode: Int, env: String, seed: UInt64?, options: String) {
        shell.log?.beginEpisode(episode, env: env, seed: seed, options: options)
    }

    func stepped(_ s: EpisodeStep) {
        let rec = StepRecord(episode: s.episode, t: s.t, env: s.env, observation: s.observation, action: s.action,
                             source: s.source.rawValue, reward: s.reward, done: s.done, info: s.info)
        shell.log?.logStep(rec, commandSeq: shell.seq)
        if shell.recordSteps { shell.recordedSteps.append((shell.seq, rec)) }
    }

    func episodeEnded(_ episode: Int, return r: Double, length: Int) {
        shell.log?.endEpisode(episode, return: r, length: length)
        shell.log?.episodeFinished()  // committed before the next output, and within the log's episodeCommitDelay
    }
}

extension Shell {
    func requireEnv() throws -> Environment {
        guard let e = env else { throw CommandError("no environment: use env NAME (env list shows them)") }
        return e
    }

    func requireEpisode() throws -> EpisodeSession {
        guard let ep = episode else { throw CommandError("no environment: use env NAME (env list shows them)") }
        return ep
    }

    /// A human's moves are `human` at a terminal and `script` otherwise.
    var humanSource: StepSource { config.interactive ? .human : .script }

    func endEpisodeIfOpen() { episode?.abandon() }

    /// Deals a new episode on `e` (the current env object continues its stream when no seed is given).
    func startEpisode(env e: Environment, seed: UInt64?, options: [String: String]) throws {
        var opts = options
        // Paths in options are relative to the shell's working directory.
        if let g = opts["game"], !g.hasPrefix("/") { opts["game"] = resolve(g).path }
        // a text-only model needs the state in words; an explicit observation= wins (and is logged either way)
        if opts["observation"] == nil, let m = agent.policy, !m.readsImages { opts["observation"] = "text" }
        let previous = episode
        // Dealt without a sink so that a bad option changes nothing, and so the abandoned episode's end is logged
        // before the new one begins.
        let next = try EpisodeSession(env: e, number: episodeCount + 1, seed: seed, options: opts, sink: nil)
        previous?.abandon()
        episodeCount += 1
        next.sink = episodeSink
        episodeSink.episodeBegan(next.number, env: e.name, seed: seed, options: next.optionsText)
        episode = next
        agent.turn = nil
        correctorSession.target.reset()
        out("\(e.name) episode \(next.number)" + (seed.map { " seed=\($0)" } ?? "") + ": " + e.textObservation)
    }

    /// Plays one step of the current episode and prints it (unless `quiet`); every way of acting comes here.
    @discardableResult
    func apply(_ input: EpisodeInput, source: StepSource, quiet: Bool = false) throws -> EpisodeStep {
        let ep = try requireEpisode()
        let s = try ep.apply(input, source: source)
        if !quiet { printStep(s, ep) }
        return s
    }

    func printStep(_ s: EpisodeStep, _ ep: EpisodeSession) {
        var line = "t=\(s.t) \(s.action) → reward \(fmt(s.reward))"
        if s.invalid { line += config.style.yellow(" (invalid output: \(ep.env.invalidPolicy.rawValue))") }
        if let p = s.parsed { line += " [parsed: \(p.keywords.isEmpty ? "no action keyword" : p.keywords.joined(separator: ","))]" }
        out(line + " | " + s.observation)
        if s.done {
            let verdict = s.episodeReturn > 0 ? config.style.green("success") : config.style.red("failure")
            out("episode \(s.episode) over (\(s.terminated ? "terminated" : "truncated")): return \(fmt(s.episodeReturn)) in \(s.t) steps, \(verdict)")
        }
    }
}
