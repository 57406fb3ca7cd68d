import Support

/// What an agent sees at one step: the frame and the step's own task prompt (rebuilt each step, since it embeds
/// the current formula).
public struct AgentInput: Sendable {
    public var image: RGBImage
    public var prompt: String
    public init(image: RGBImage, prompt: String) { self.image = image; self.prompt = prompt }
}

/// How tokens are drawn. PPO scores the *tempered* policy softmax(logits / temperature): `tokenLogProbs` and
/// `evaluate` use exactly that distribution. Top-p and the repetition penalty only change which token is drawn
/// (the behaviour distribution); its log-probs are kept separately in `behaviourLogProbs`, and with the defaults
/// (topP 1, penalty 1) the two coincide. GTR sampled with penalty 1.2 but scored without it (digest §3), which
/// makes the PPO ratio off-policy; gtr makes that choice visible instead of silent.
public struct GenerationConfig: Codable, Sendable, Equatable {
    public var temperature: Float = 0.2
    public var topP: Float = 1
    public var repetitionPenalty: Float = 1
    public var maxNewTokens = 160
    /// Argmax decoding (still reports the tempered log-probs of the chosen tokens).
    public var greedy = false
    public var seed: UInt64 = 0
    public init(temperature: Float = 0.2, topP: Float = 1, repetitionPenalty: Float = 1, maxNewTokens: Int = 160, greedy: Bool = false, seed: UInt64 = 0) {
        self.temperature = temperature; self.topP = topP; self.repetitionPenalty = repetitionPenalty
        self.maxNewTokens = maxNewTokens; self.greedy = greedy; self.seed = seed
    }
}

/// Where the thought ends and the action begins in an output: the token that contains the start of the last
/// `"action":` and everything after it (the value, the closing brace, EOS) is the action; everything before is
/// the thought. Located by character offsets in the decoded text, never by hard-coded token ids.
public struct OutputSpans: Sendable, Equatable {
    /// Token index where the action part starts (== token count when there is no `"action":`).
    public var actionTokenStart: Int
    /// Character offset of the last `"action":` in the text, nil when absent.
    public var actionCharOffset: Int?
    public var hasAction: Bool { actionCharOffset != nil }

    /// `byteOffsets[k]` is where token k starts in the UTF-8 text (count + 1 entries).
    public static func locate(text: String, byteOffsets: [Int]) -> OutputSpans {
        let tokens = byteOffsets.count - 1
        guard let r = text.range(of: "\"action\":", options: .backwards) else {
            return OutputSpans(actionTokenStart: tokens, actionCharOffset: nil)
        }
        let byte = text.utf8.distance(from: text.startIndex, to: r.lowerBound)
        let char = text.distance(from: text.startIndex, to: r.lowerBound)
        // first token whose bytes end after the match begins: it contains the quote of "action":
        var k = 0
        while k < tokens && byteOffsets[k + 1] <= byte { k += 1 }
        return OutputSpans(actionTokenStart: k, actionCharOffset: char)
    }
}

/// One generated answer with everything training and the shell need.
public struct PolicyOutput: Sendable {
    public var text: String
    /// Generated ids, ending with EOS when the model stopped by itself.
    public var tokenIDs: [Int32]
    /// log π_T(token | prefix) for each generated id (the scored distribution).
    public var tokenLogProbs: [Float]
    /// log of the probability the token was actually drawn with (after top-p / repetition penalty).
    public var behaviourLogProbs: [Float]
    /// Entropy (nats) of the scored distribution at each generated position.
    public var tokenEntropies: [Float]
    public var spans: OutputSpans
    /// Value estimate for the state (value head at the last prompt position).
    public var value: Float
    /// True when generation ended with EOS (not cut at maxNewTokens).
    public var finished: Bool

    public init(text: String, tokenIDs: [Int32], tokenLogProbs: [Float], behaviourLogProbs: [Float], tokenEntropies: [Float],
                spans: OutputSpans, value: Float, finished: Bool) {
        self.text = text; self.tokenIDs = tokenIDs; self.tokenLogProbs = tokenLogProbs; self.behaviourLogProbs = behaviourLogProbs
        self.tokenEntropies = tokenEntropies; self.spans = spans; self.value = value; self.finished = finished
    }

    public var thoughtLogProb: Float { tokenLogProbs[..<spans.actionTokenStart].reduce(0, +) }
    public var actionLogProb: Float { tokenLogProbs[spans.actionTokenStart...].reduce(0, +) }
    /// RL4VLM eq. 2: λ·log p(thought) + log p(action).
    public func weightedLogProb(lambda: Float) -> Float { lambda * thoughtLogProb + actionLogProb }
}

/// The log-probability of a given output under a prompt, split into thought and action parts.
public struct PolicyEvaluation: Sendable {
    public var tokenLogProbs: [Float]
    public var spans: OutputSpans
    public var thoughtLogProb: Float
    public var actionLogProb: Float
    /// λ·thought + action.
    public var logProb: Float
    public var value: Float
    public var tokenEntropies: [Float]
}

public enum AgentError: Error, CustomStringConvertible {
    case badCheckpoint(String)
    case unsupported(String)
    case badInput(String)
    public var description: String {
        switch self {
        case let .badCheckpoint(m): return "checkpoint: \(m)"
        case let .unsupported(m): return m
        case let .badInput(m): return m
        }
    }
}

/// The one interface every agent backend implements (the tiny VLM now; SmolLM2 from GGUF and remote endpoints
/// later). The shell and the trainer see only this.
public protocol Policy: AnyObject {
    var name: String { get }
    /// Batched generation: one output per input, rows independent (row i uses seed `config.seed + i`).
    func generate(_ inputs: [AgentInput], config: GenerationConfig) throws -> [PolicyOutput]
    /// log π_T of exactly `outputTokens` after the input's prompt, with thought tokens weighted by λ.
    func evaluate(_ input: AgentInput, outputTokens: [Int32], lambda: Float, temperature: Float) throws -> PolicyEvaluation
    /// The value head's estimate for the state.
    func value(_ input: AgentInput) throws -> Float
    /// Token ids of a text as this policy would write it (no BOS/EOS).
    func encode(_ text: String) -> [Int32]
    func decode(_ ids: [Int32]) -> String
    /// Display form of one token.
    func tokenText(_ id: Int32) -> String
    var endOfText: Int32 { get }
}
