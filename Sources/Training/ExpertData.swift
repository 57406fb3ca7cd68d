import Agents
import Environments
import Foundation
import Support

/// One supervised step: what the agent saw and what the expert wrote.
public struct ExpertSample: Sendable {
    public var env: String
    public var input: AgentInput
    public var answer: ExpertAnswer
    /// What a perfect reader reports for the frame ("cards" for the points games, numbers for NumberLine).
    public var truth: StateFacts
}

public enum ExpertData {
    /// Rolls out the expert from seeds `seed, seed+1, …` until `steps` samples are collected. Each sample is a
    /// state on the expert's own trajectory with a phrasing drawn from a stream seeded by `seed`.
    public static func collect(env name: String, steps: Int, seed: UInt64, options: [String: String] = [:]) throws -> [ExpertSample] {
        var out: [ExpertSample] = []
        var rng = SeededRNG(seed: seed ^ 0xE4BE_47)
        var s = seed
        let env = try EnvironmentRegistry.make(name)
        (env as? EnvironmentBase)?.renderFrames = false
        while out.count < steps {
            try env.reset(seed: s, options: options)
            s += 1
            while !env.isDone && out.count < steps {
                let a = try Expert.answer(env, rng: &rng)
                out.append(ExpertSample(env: name, input: AgentInput.from(env), answer: a, truth: env.stateFacts))
                _ = try env.step(a.action)
            }
        }
        return out
    }

    /// Default options for expert data and evaluation of an env (Points24 deals solvable hands only).
    public static func defaultOptions(_ env: String) -> [String: String] {
        env == "points24" ? ["solvable_only": "true"] : [:]
    }
}
