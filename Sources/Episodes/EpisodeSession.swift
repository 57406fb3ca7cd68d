import Environments

/// One played episode: the environment, the options and seed it was dealt with, its return, the steps so far and
/// the undo history. Every way of playing goes through `apply`, so a human's move, a model's output and a
/// corrector's action are recorded, undone and logged the same way.
public final class EpisodeSession {
    /// The env in this episode's current state (undo swaps in the snapshot taken before the undone step).
    public private(set) var env: Environment
    public let number: Int
    public let seed: UInt64?
    /// The reset options, `seed` excluded (a `reset` without a seed reuses them).
    public let options: [String: String]
    public private(set) var episodeReturn = 0.0
    public private(set) var steps: [EpisodeStep] = []
    public weak var sink: EpisodeSink?
    private var undoStack: [(env: Environment, ret: Double, steps: Int)] = []
    private var ended = false

    /// Resets `env` with `seed` and `options` and begins episode `number`. The env is reset in place (a reset
    /// without a seed continues its stream); on a bad option nothing changes and the error is thrown.
    public init(env: Environment, number: Int, seed: UInt64?, options: [String: String], sink: EpisodeSink? = nil) throws {
        var opts = options
        opts.removeValue(forKey: "seed")
        try env.reset(seed: seed, options: opts)
        self.env = env; self.number = number; self.seed = seed; self.options = opts; self.sink = sink
        sink?.episodeBegan(number, env: env.name, seed: seed, options: optionsText)
    }

    /// `key=value` pairs sorted by key, as logged.
    public var optionsText: String { options.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ") }

    public var isDone: Bool { env.isDone }
    public var stepCount: Int { env.stepCount }
    public var last: EpisodeStep? { steps.last }
    /// GTR's success: the episode is over with a positive return.
    public var succeeded: Bool { env.isDone && episodeReturn > 0 }
    public var undoDepth: Int { undoStack.count }

    /// Plays one step. A plain action must be legal, except for command games (household tasks), where any
    /// command is played as the real engine plays it ("Nothing happens.", reward −1). A model output is parsed
    /// by the env (GTR parsing) and an unparseable one follows the env's `invalid=` rule.
    @discardableResult
    public func apply(_ input: EpisodeInput, source: StepSource) throws -> EpisodeStep {
        guard !env.isDone else { throw EnvironmentError.episodeOver }
        let snapshot = env.clone()
        let result: StepResult
        var parsed: ProjectedAction?
        let action: String
        switch input {
        case let .action(a):
            guard env.actionsAreCommands || env.legalActions.contains(a) else {
                throw EnvironmentError.unknownAction(a, legal: env.legalActions)
            }
            result = try env.step(a)
            action = a
        case let .modelOutput(text):
            let (r, p) = try env.step(modelOutput: text)
            result = r; parsed = p
            action = r.executedAction ?? "(invalid)"
        }
        undoStack.append((snapshot, episodeReturn, steps.count))
        episodeReturn += result.reward
        let step = EpisodeStep(episode: number, t: env.stepCount, env: env.name, action: action, source: source,
                               reward: result.reward, terminated: result.terminated, truncated: result.truncated,
                               invalid: result.invalid, observation: env.textObservation, info: result.info.serialized(),
                               parsed: parsed, episodeReturn: episodeReturn)
        steps.append(step)
        sink?.stepped(step)
        if step.done { end() }
        return step
    }

    /// Takes back the last `n` steps: the env returns to its state before them, with the return and records.
    /// An episode that had ended is open again (its end stays in the log, as history).
    public func undo(_ n: Int = 1) throws {
        guard n >= 1 else { throw EnvironmentError.badOption("undo needs a positive count") }
        guard undoStack.count >= n else { throw EpisodeError.nothingToUndo(available: undoStack.count) }
        var restored: (env: Environment, ret: Double, steps: Int)?
        for _ in 0..<n { restored = undoStack.removeLast() }
        guard let r = restored else { return }
        env = r.env
        episodeReturn = r.ret
        steps.removeLast(steps.count - r.steps)
        ended = false
    }

    /// Reports the end of an abandoned episode (a new deal, leaving the env, closing the shell) when it had steps.
    /// Judged from the episode's own records, so it is right even after the env object was reset for the next deal.
    public func abandon() {
        guard !ended, let last = steps.last, !last.done else { return }
        end()
    }

    private func end() {
        guard !ended else { return }
        ended = true
        sink?.episodeEnded(number, return: episodeReturn, length: steps.last?.t ?? 0)
    }
}

public enum EpisodeError: Error, CustomStringConvertible, Equatable {
    case nothingToUndo(available: Int)
    public var description: String {
        switch self {
        case let .nothingToUndo(k): return "only \(k) move(s) to undo in this episode"
        }
    }
}
