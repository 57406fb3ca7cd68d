import Environments
import Foundation
import Support

/// What a corrector is asked (GTR §5.2): the state the agent saw, its thought without the action, the action it
/// chose (kept in the correction, as GTR does), and, for the formula games, the current formula and the episode's
/// target formula.
public struct CorrectionRequest {
    /// A copy of the environment in the state the agent saw (the oracle reads the true state from it).
    public var env: Environment
    public var image: RGBImage
    public var observationText: String
    /// The agent's output as JSON with the `action` key removed (what GTR sends as "[Thought]").
    public var thought: JSONValue
    /// The agent's own action string, or nil when its output named none.
    public var agentAction: String?
    /// The formula written so far (Points24 / EZPoints), joined without spaces.
    public var currentFormula: String?
    /// The episode's target formula; nil means NOT DETERMINED.
    public var targetFormula: String?

    public init(env: Environment, image: RGBImage, observationText: String, thought: JSONValue, agentAction: String?,
                currentFormula: String?, targetFormula: String?) {
        self.env = env; self.image = image; self.observationText = observationText; self.thought = thought
        self.agentAction = agentAction; self.currentFormula = currentFormula; self.targetFormula = targetFormula
    }

    /// Builds a request from an agent's raw output. GTR corrects only valid outputs (§5.1), so an output that is
    /// not a JSON object with the env's keys is refused with the parse error.
    public static func from(env: Environment, output: String, targetFormula: String?) throws -> CorrectionRequest {
        let parse = env.strictParse(output)
        guard parse.valid, case let .object(pairs)? = parse.json else {
            throw CorrectorError.invalidThought(parse.error ?? "not valid JSON")
        }
        let thought = JSONValue.object(pairs.filter { $0.0 != "action" })
        let obs = env.observe()
        return CorrectionRequest(env: env.clone(), image: obs.image, observationText: obs.text, thought: thought,
                                 agentAction: parse.action, currentFormula: env.currentFormula,
                                 targetFormula: targetFormula)
    }

    /// The thought as GTR serialises it for the corrector (compact JSON).
    public var thoughtText: String { thought.serialized() }

    /// What the environment's corrector capabilities (`correctorQuestions`, `oracleJudgement`) are asked about.
    public var review: ReviewedThought {
        ReviewedThought(thought: thought, agentAction: agentAction, currentFormula: currentFormula, targetFormula: targetFormula,
                        observationText: observationText)
    }

    /// Lower-case hex SHA-256 of the frame's pixels and size: the image part of the cache key.
    public var imageHash: String {
        var bytes = [UInt8](); bytes.reserveCapacity(image.pixels.count + 8)
        for v in [UInt32(image.width), UInt32(image.height)] { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
        bytes.append(contentsOf: image.pixels)
        return SHA256.hex(bytes)
    }
}

/// GTR's verdict on a thought. `none` is "no correction": the corrector failed (network, malformed replies) or
/// declined, and nothing is learned from this step.
public enum Verdict: String, Sendable, Codable {
    case correct = "YES"
    case incorrect = "NO"
    case none = "NONE"
}

/// A corrector's answer with its bookkeeping (what the ledger stores).
public struct CorrectorReply: Sendable {
    public var corrector: String
    /// The answers to the env's GTR questions, in order.
    public var answers: [String] = []
    public var verdict: Verdict = .none
    /// Points24 only: whether the cards can make 24 at all (nil where the env has no such question).
    public var possibleSolution: Bool?
    /// Points24 / EZPoints: the formula the corrector wants the episode to follow.
    public var targetFormula: String?
    /// The corrected thought as a JSON object with the agent's own action appended last (GTR §5.5); nil when the
    /// thought was right or no correction came.
    public var correction: JSONValue?
    /// The exact request text (system prompt, user prompt, data lines) and the raw reply.
    public var prompt = ""
    public var rawReply = ""
    /// What happened on the way (a retry and why, an endpoint found to refuse images), for the user to see.
    public var notes: [String] = []
    public var latency: Double = 0
    public var promptTokens = 0
    public var completionTokens = 0
    public var cost: Double = 0
    /// Why there is no correction (after retries), or nil.
    public var failure: String?
    public var attempts = 1
    public var fromCache = false

    public init(corrector: String) { self.corrector = corrector }

    /// The corrected thought without the action, as the agent would write it before `"action":`, e.g.
    /// `{"cards": [1, 2, 3, 4], "formula": "", "thoughts": "…", ` (what `correct apply` makes the thought).
    public var correctionPrefix: String? {
        guard case let .object(pairs)? = correction else { return nil }
        let kept = pairs.filter { $0.0 != "action" }
        return "{" + kept.map { k, v in JSONValue.string(k).serialized() + ": " + CorrectorReply.spaced(v) + ", " }.joined()
    }

    /// JSON with a space after `:` and `,` (the agents' own style), so an adopted correction tokenises like
    /// their outputs.
    public static func spaced(_ v: JSONValue) -> String {
        switch v {
        case let .array(items): return "[" + items.map(spaced).joined(separator: ", ") + "]"
        case let .object(pairs): return "{" + pairs.map { JSONValue.string($0.0).serialized() + ": " + spaced($0.1) }.joined(separator: ", ") + "}"
        default: return v.serialized()
        }
    }
}

public enum CorrectorError: Error, CustomStringConvertible {
    case invalidThought(String)
    case unsupported(String)
    case badConfig(String)
    case cancelled

    public var description: String {
        switch self {
        case let .invalidThought(m): return "the agent's output is not a valid GTR thought (\(m)); GTR corrects only valid outputs"
        case let .unsupported(m): return m
        case let .badConfig(m): return m
        case .cancelled: return "correction cancelled"
        }
    }
}

/// A corrector judges an agent's thought for the state it saw and may rewrite it (GTR §5). Implementations:
/// `OracleCorrector` (exact, card games), `ChatCorrector` (any OpenAI-compatible endpoint), `HumanCorrector`.
public protocol Corrector: AnyObject {
    /// The name shown in the shell and stored in the ledger.
    var name: String { get }
    /// What identifies this corrector's answers in the cache (kind, endpoint, model, sampling), never a secret.
    var identity: String { get }
    /// Whether identical requests may be answered from the cache (a person asked twice may answer differently).
    var cacheable: Bool { get }
    /// Judges the request. Failures are reported in the reply (`verdict == .none`, `failure`), not thrown;
    /// only an unusable request or a cancellation throws.
    func correct(_ request: CorrectionRequest) throws -> CorrectorReply
}

extension Corrector {
    /// The cache key: SHA-256 over the corrector's identity, the full prompt and the image hash.
    public func requestHash(_ request: CorrectionRequest) -> String {
        let p = CorrectorPrompt.make(for: request)
        return SHA256.hex(Array((identity + "\u{1F}" + p.system + "\u{1F}" + p.user + "\u{1F}" + request.imageHash).utf8))
    }
}
