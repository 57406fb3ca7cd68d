import Support

/// What one step returns, gymnasium-style, plus gtr's bookkeeping of how the action was obtained.
public struct StepResult: Sendable {
    public var observation: Observation
    public var reward: Double
    public var terminated: Bool
    public var truncated: Bool
    public var info: JSONValue
    /// True when the step was an invalid model output handled by `invalid=penalty` (nothing executed).
    public var invalid: Bool = false
    /// The action that was executed (nil when nothing was).
    public var executedAction: String?
    public var done: Bool { terminated || truncated }
}

/// What the agent sees: the 300×300×3 frame and the env's text rendering of the same state.
public struct Observation: Sendable {
    public var image: RGBImage
    public var text: String
}

/// What happens when a model's output cannot be turned into exactly one action.
/// `random` is what RL4VLM and GTR do (a uniformly random legal action is executed); `penalty` executes nothing,
/// returns the env's invalid-action reward and marks the step invalid. gtr defaults to `penalty` because a
/// random action hides format failures: the episode goes on as if the model had answered.
public enum InvalidActionPolicy: String, Sendable, CaseIterable { case penalty, random }

/// The result of the RL4VLM projection of a model's text onto the action set (`text_projection`, §2.6).
public struct ProjectedAction: Sendable, Equatable {
    /// The single action keyword found, or nil when none or several were found.
    public var action: String?
    /// Every distinct keyword found after `"action":`.
    public var keywords: [String]
    public var legal: Bool { action != nil }
}

/// The strict GTR validity check (§5.1): the whole text is one JSON object with the env's required keys.
public struct StrictParse: Sendable {
    public var valid: Bool
    public var json: JSONValue?
    public var missingKeys: [String]
    public var error: String?
    /// The action value when present as a string.
    public var action: String? { json?["action"]?.stringValue }
}

public enum EnvironmentError: Error, CustomStringConvertible, Equatable {
    case unknownEnvironment(String, suggestions: [String])
    case unknownAction(String, legal: [String])
    case badOption(String)
    case episodeOver
    case notReset

    public var description: String {
        switch self {
        case let .unknownEnvironment(n, s):
            return "unknown environment '\(n)'" + (s.isEmpty ? "" : "; did you mean \(s.joined(separator: ", "))?")
        case let .unknownAction(a, legal): return "'\(a)' is not an action here; legal: \(legal.joined(separator: " "))"
        case let .badOption(m): return m
        case .episodeOver: return "the episode is over: use reset (or env) to deal a new one"
        case .notReset: return "no episode yet: call reset first"
        }
    }
}

/// One protocol for every environment gtr drives (card games now, household tasks later).
public protocol Environment: AnyObject {
    /// Registry name, e.g. "points24".
    var name: String { get }
    /// Every action string in action-id order (gym-cards' Discrete indices).
    var actions: [String] { get }
    /// The actions a human or agent may type now (equal to `actions` for card games, admissible commands for
    /// household tasks).
    var legalActions: [String] { get }
    var invalidPolicy: InvalidActionPolicy { get set }
    /// JSON keys a valid model output must have (GTR's check uses "formula", the agents' own key).
    var requiredKeys: [String] { get }
    /// Reward returned for an invalid output under `invalid=penalty`.
    var invalidReward: Double { get }
    /// gym-cards info dict for the current state.
    var info: JSONValue { get }
    /// True after a terminating or truncating step, until the next reset.
    var isDone: Bool { get }
    /// Steps taken in the current episode.
    var stepCount: Int { get }
    /// The seed of the last seeded reset, if any.
    var seed: UInt64? { get }

    @discardableResult
    func reset(seed: UInt64?, options: [String: String]) throws -> Observation
    /// Executes one action string (must be in `legalActions`).
    func step(_ action: String) throws -> StepResult
    /// The GTR task prompt for the current state, with or without the thought fields (in text mode it describes
    /// what the frame shows).
    func prompt(thoughts: Bool) -> String
    /// The frame (`image`, GTR's setting) or words in the prompt (`text`): reset option `observation=`.
    var observationMode: ObservationMode { get set }
    /// The current observation (renders the frame).
    func observe() -> Observation
    /// A text description of the state (what `show` prints without colour).
    var textObservation: String { get }
    /// Keywords and rules for `ProjectedAction`.
    func project(_ text: String) -> ProjectedAction
    /// The state for a terminal: ANSI card boxes when `ansi`, plain text otherwise.
    func terminalView(ansi: Bool) -> String
    /// A deep copy, used by `undo` and by side-by-side play.
    func clone() -> Environment
    /// Draws one uniformly random legal action from the env's own stream (for `invalid=random`).
    func randomLegalAction() -> String
}

extension Environment {
    public func reset(seed: UInt64? = nil) throws -> Observation { try reset(seed: seed, options: [:]) }

    /// Strict JSON validity, as GTR's `extract_thought`: the stripped text parses as a JSON object that has all
    /// of `requiredKeys`.
    public func strictParse(_ text: String) -> StrictParse {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        do {
            let v = try JSONParser.parse(trimmed)
            guard case let .object(pairs) = v else {
                return StrictParse(valid: false, json: v, missingKeys: requiredKeys, error: "not a JSON object")
            }
            let keys = Set(pairs.map(\.0))
            let missing = requiredKeys.filter { !keys.contains($0) }
            return StrictParse(valid: missing.isEmpty, json: v, missingKeys: missing,
                               error: missing.isEmpty ? nil : "missing keys: \(missing.joined(separator: ", "))")
        } catch {
            return StrictParse(valid: false, json: nil, missingKeys: requiredKeys, error: "\(error)")
        }
    }

    /// Turns a model's output into a step: the projected action is executed when there is exactly one;
    /// otherwise `invalidPolicy` decides (random legal action, or a penalty step that executes nothing).
    public func step(modelOutput text: String) throws -> (StepResult, ProjectedAction) {
        let p = project(text)
        if let a = p.action { return (try step(a), p) }
        switch invalidPolicy {
        case .random:
            var r = try step(randomLegalAction())
            r.invalid = true
            return (r, p)
        case .penalty:
            guard !isDone else { throw EnvironmentError.episodeOver }
            let r = try penaltyStep()
            return (r, p)
        }
    }

    /// A step that executes nothing and returns the invalid reward; counts toward the time limit.
    func penaltyStep() throws -> StepResult {
        guard let base = self as? EnvironmentBase else { throw EnvironmentError.notReset }
        return base.recordPenalty()
    }
}

import Foundation

/// How an environment shows its state to an agent: the frame (GTR's visual setting), or a description in words
/// in the prompt (text mode, for text-only language models: as gym-cards' text variants and ALFWorld's text engine
/// do). Chosen with the common reset option `observation=image|text`; the frame is rendered either way.
public enum ObservationMode: String, Sendable, CaseIterable {
    case image, text
}

/// Shared machinery for the built-in environments: the seeded stream, options, the time limit gym-cards
/// registers (TimeLimit 300) and the invalid-action policy.
open class EnvironmentBase {
    public var rng = SeededRNG(seed: 0)
    public private(set) var seed: UInt64?
    public var invalidPolicy: InvalidActionPolicy = .penalty
    public var timeLimit = 300
    /// When false, steps return an empty frame (text-only rollouts and benchmarks); `render()` still draws.
    public var renderFrames = true
    /// Whether the prompt describes the state in words (`observation=text`) or points at the frame.
    public var observationMode: ObservationMode = .image
    public internal(set) var stepCount = 0
    public internal(set) var isDone = false
    var started = false

    public init() {}

    /// Applies the options every env understands and re-seeds the stream when a seed is given.
    func beginReset(seed: UInt64?, options: [String: String], known: Set<String>) throws {
        let common: Set<String> = ["invalid", "time_limit", "seed", "observation"]
        for k in options.keys where !common.contains(k) && !known.contains(k) {
            let all = (common.union(known)).sorted().joined(separator: ", ")
            throw EnvironmentError.badOption("unknown option '\(k)' (options: \(all))")
        }
        if let v = options["invalid"] {
            guard let p = InvalidActionPolicy(rawValue: v) else {
                throw EnvironmentError.badOption("invalid=\(v): expected random or penalty")
            }
            invalidPolicy = p
        }
        if let v = options["observation"] {
            guard let m = ObservationMode(rawValue: v) else { throw EnvironmentError.badOption("observation=\(v): expected image or text") }
            observationMode = m
        }
        if let v = options["time_limit"] {
            guard let n = Int(v), n > 0, n <= 1_000_000 else { throw EnvironmentError.badOption("time_limit=\(v): expected a positive integer") }
            timeLimit = n
        }
        var s = seed
        if s == nil, let v = options["seed"] {
            guard let n = UInt64(v) else { throw EnvironmentError.badOption("seed=\(v): expected a non-negative integer") }
            s = n
        }
        if let s { rng = SeededRNG(seed: s); self.seed = s }
        stepCount = 0
        isDone = false
        started = true
    }

    /// Checks that a step may happen and counts it; returns true if this step hits the time limit.
    func beginStep() throws -> Bool {
        guard started else { throw EnvironmentError.notReset }
        guard !isDone else { throw EnvironmentError.episodeOver }
        stepCount += 1
        return stepCount >= timeLimit
    }

    func finish(_ r: StepResult, hitLimit: Bool) -> StepResult {
        var r = r
        if hitLimit && !r.terminated { r.truncated = true }
        if r.done { isDone = true }
        return r
    }

    func recordPenalty() -> StepResult {
        let hit = (try? beginStep()) ?? false
        let env = self as! Environment
        return finish(StepResult(observation: env.observe(), reward: env.invalidReward, terminated: false,
                                 truncated: false, info: env.info, invalid: true, executedAction: nil), hitLimit: hit)
    }

    func copyBase(to other: EnvironmentBase) {
        other.rng = rng; other.seed = seed; other.invalidPolicy = invalidPolicy; other.timeLimit = timeLimit
        other.stepCount = stepCount; other.isDone = isDone; other.started = started
        other.renderFrames = renderFrames; other.observationMode = observationMode
    }
}

/// The RL4VLM `text_projection` rules (§2.6): lower-case, keep the text from the first `"action":` (or only the
/// last character when absent), for the points games take "10" out first, then collect every keyword that
/// occurs as a substring; exactly one distinct keyword is an action.
public func projectAction(_ text: String, keywords: [String], pointsRules: Bool) -> ProjectedAction {
    var s = text.lowercased()
    if let r = s.range(of: "\"action\":") { s = String(s[r.lowerBound...]) } else { s = s.isEmpty ? "" : String(s.suffix(1)) }
    var found: [String] = []
    if pointsRules, keywords.contains("10"), s.contains("10") {
        found.append("10")
        s = s.replacingOccurrences(of: "10", with: "")
    }
    for k in keywords where s.contains(k.lowercased()) && !found.contains(k) { found.append(k) }
    return ProjectedAction(action: found.count == 1 ? found[0] : nil, keywords: found)
}

/// Environments that can always draw their frame, whatever `renderFrames` says.
public protocol FrameRenderable { func render() -> RGBImage }

extension Environment {
    /// The frame an agent sees for the current state: drawn even when `renderFrames` is off (text-only
    /// rollouts still hand the agent a picture).
    public var frame: RGBImage { (self as? FrameRenderable)?.render() ?? observe().image }
}
extension Points24: FrameRenderable {}
extension EZPoints: FrameRenderable {}
extension NumberLine: FrameRenderable {}
extension Blackjack: FrameRenderable {}
extension Household: FrameRenderable {}
