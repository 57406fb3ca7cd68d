import Environments

/// Who chose a step's action. `script` is a human's command replayed from a file; `corrector` and `expert` are
/// actions taken from a corrector's or the expert's answer.
public enum StepSource: String, Sendable, CaseIterable {
    case human, script, agent, corrector, expert
}

/// What a step is made from: one action (a token such as `10` or `*`, or a household command), or a model's raw
/// output, which goes through the env's GTR parsing and its `invalid=` rule.
public enum EpisodeInput: Sendable, Equatable {
    case action(String)
    case modelOutput(String)
}

/// The one record every way of stepping produces (`act`, `act text=`, the agent's steps, replays, rollouts, the
/// environment server): what was done, what it earned, and the state after it.
public struct EpisodeStep: Sendable, Equatable {
    /// The episode's number within its owner (the shell counts episodes across envs).
    public var episode: Int
    /// The step count after this step (1 for the first step).
    public var t: Int
    public var env: String
    /// The executed action, or `(invalid)` when a model output executed nothing.
    public var action: String
    public var source: StepSource
    public var reward: Double
    public var terminated: Bool
    public var truncated: Bool
    /// True when a model output could not be projected onto one action (see `InvalidActionPolicy`).
    public var invalid: Bool
    /// The env's text rendering after the step.
    public var observation: String
    /// The env's info dict after the step, serialised.
    public var info: String
    /// How a model output was read (nil for a plain action).
    public var parsed: ProjectedAction?
    /// The episode's return including this step.
    public var episodeReturn: Double

    public var done: Bool { terminated || truncated }
}

/// Where an episode's life is written: a session log, a trainer's buffer, a server's transcript. Methods are
/// called in order: `began`, any number of `stepped`, then `ended` once (when the episode finishes, or when it is
/// abandoned with steps taken).
public protocol EpisodeSink: AnyObject {
    func episodeBegan(_ episode: Int, env: String, seed: UInt64?, options: String)
    func stepped(_ step: EpisodeStep)
    func episodeEnded(_ episode: Int, return: Double, length: Int)
}
