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

/// The facts of a state that card-recognition accuracy is measured against.
public struct StateFacts: Sendable, Equatable {
    public var cards: [Int]?
    public var current: Int?
    public var target: Int?

    public static func of(_ env: Environment) -> StateFacts {
        switch env {
        case let g as FormulaCardGame: return StateFacts(cards: g.numbers)
        case let n as NumberLine: return StateFacts(current: n.position, target: n.goal)
        default: return StateFacts()
        }
    }

    /// Whether a parsed answer reads the state right; nil when the env has nothing to read (Blackjack's JSON has
    /// no card field) or the answer is not a JSON object.
    public func recognised(by json: JSONValue?) -> Bool? {
        guard let json, case .object = json else { return cards != nil || current != nil ? false : nil }
        if let cards {
            guard case let .array(items)? = json["cards"] else { return false }
            return items.map { $0.numberValue.map { Int($0) } ?? Int($0.stringValue ?? "") ?? -1 } == cards
        }
        if let current, let target {
            func num(_ k: String) -> Int? { json[k]?.numberValue.map { Int($0) } ?? json[k]?.stringValue.flatMap { Int($0) } }
            return num("current number") == current && num("target number") == target
        }
        return nil
    }
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
                out.append(ExpertSample(env: name, input: AgentInput.from(env), answer: a, truth: StateFacts.of(env)))
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
