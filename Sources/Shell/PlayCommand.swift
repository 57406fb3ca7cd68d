import Environments
import Episodes
import Foundation
import Training

extension Shell {
    static let playCommand = CommandSpec(
        name: "play", group: "environment",
        summary: "play N seeded hands yourself with a running score; vs-agent: the agent plays the same hands, side by side",
        example: "play points24 hands=3 seed=100",
        positionals: [.optional("GAME", ["points24"]), .optional("MODE", ["vs-agent"])],
        options: [OptionSpec("hands", .int(1...10_000), default: "1"), OptionSpec("seed", .seed, "hand i is dealt with seed S+i"),
                  OptionSpec("solvable_only", .bool), OptionSpec("ranks", .choice(["10", "13"]))]) { sh, a in
        try sh.play(a)
    }

    /// `play`: the human plays N seeded hands. Hand i is dealt with seed S+i, so an agent can later be scored on
    /// exactly the same hands (the `PlayMatch` hands list), side by side. What was played is kept as a runnable
    /// script (`env … seed=…` and `act …` per hand) for `save script`.
    func play(_ a: Arguments) throws {
        let game = a.positional.first ?? "points24"
        let versus = a.positional.count > 1
        if versus { _ = try requireModel() }
        guard lineSource != nil || replayInputs != nil else { throw CommandError("play needs an interactive input (in scripts, use env and act)") }
        let hands = a.int("hands") ?? 1
        let base = a.seed() ?? UInt64(Date().timeIntervalSince1970) % 100_000
        var opts: [String: String] = [:]
        for k in ["solvable_only", "ranks"] { if let v = a.options[k] { opts[k] = v } }
        let match = PlayMatch(env: game, seeds: (0..<hands).map { base + UInt64($0) }, options: opts)
        var stats = EpisodeStats(), agentStats = EpisodeStats()
        var script: [String] = []
        defer { scriptEquivalents[seq] = script }
        out("playing \(hands) hand(s) of \(game) from seed \(base); type tokens (e.g. 10 * 2), undo, solve, skip or quit")
        handLoop: for (i, s) in match.seeds.enumerated() {
            try startEpisode(env: try EnvironmentRegistry.make(game), seed: s, options: match.options)
            guard let ep = episode else { break }
            // The hand as a script: its deal, then the moves that stand (undone ones are gone from `steps`).
            defer {
                script.append("env \(game) seed=\(s)" + (ep.optionsText.isEmpty ? "" : " " + ep.optionsText))
                if !ep.steps.isEmpty { script.append("act " + ep.steps.map(\.action).joined(separator: " ")) }
            }
            out(ep.env.terminalView(ansi: config.style.color))
            while !ep.isDone {
                guard let line = readInput(prompt: "play[\(i + 1)/\(hands) t=\(ep.stepCount)]> ") else { break handLoop }
                if Interrupt.pending { Interrupt.clear(); break handLoop }
                let words = line.split(separator: " ").map(String.init)
                guard let first = words.first else { continue }
                switch first {
                case "quit", "exit": break handLoop
                case "skip":
                    out("skipped hand \(i + 1)")
                    stats.record(return: ep.episodeReturn, length: ep.stepCount)
                    continue handLoop
                case "undo", "solve", "show", "actions": runNested(first, Array(words.dropFirst()))
                default: runNested("act", words)
                }
            }
            if ep.isDone { stats.record(return: ep.episodeReturn, length: ep.stepCount) }
            if versus {
                let (ret, moves, formula) = try agentPlays(env: game, seed: s, options: match.options)
                agentStats.record(return: ret, length: moves)
                let you = "you \(ep.episodeReturn > 0 ? "✓" : "✗") \(ep.env.currentFormula ?? "")"
                out("hand \(i + 1): \(you) | agent \(ret > 0 ? "✓" : "✗") \(formula) (\(moves) moves)")
                out("score: you \(stats.successes)/\(stats.episodes) · agent \(agentStats.successes)/\(agentStats.episodes)")
            } else {
                out("score: \(stats.successes)/\(stats.episodes) solved, return \(fmt(stats.returns.reduce(0, +))), moves \(stats.totalMoves)")
            }
        }
        out("played \(stats.episodes) hand(s): \(stats.successes) solved (\(String(format: "%.0f", stats.successRate * 100))%), mean return \(fmt(stats.meanReturn))")
        if versus {
            out("agent on the same hands: \(agentStats.successes) solved (\(String(format: "%.0f", agentStats.successRate * 100))%), mean return \(fmt(agentStats.meanReturn))")
        }
    }

    /// Runs one command typed inside `play` through its declaration; an error is printed, and play goes on.
    func runNested(_ name: String, _ words: [String]) {
        guard let spec = Shell.spec(name) else { return }
        do {
            let args = try Arguments.parse(words, words: [], spec: spec)
            try spec.run(self, args)
        } catch let e as CommandError { errorLine("\(name): \(e.message)")
        } catch let e as CustomStringConvertible { errorLine("\(name): \(e.description)")
        } catch { errorLine("\(name): \(error)") }
    }
}

/// A fixed list of hands (env, seeds, options) that several players, human or agent, can be scored on.
public struct PlayMatch: Sendable {
    public let env: String
    public let seeds: [UInt64]
    public let options: [String: String]
}
