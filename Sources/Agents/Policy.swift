import Foundation
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

    public init(tokenLogProbs: [Float], spans: OutputSpans, thoughtLogProb: Float, actionLogProb: Float, logProb: Float, value: Float,
                tokenEntropies: [Float]) {
        self.tokenLogProbs = tokenLogProbs; self.spans = spans; self.thoughtLogProb = thoughtLogProb; self.actionLogProb = actionLogProb
        self.logProb = logProb; self.value = value; self.tokenEntropies = tokenEntropies
    }
}

public enum AgentError: Error, CustomStringConvertible {
    case badCheckpoint(String)
    case unsupported(String)
    case badInput(String)
    /// The input and the answer budget do not fit the model's context: tokens the input takes (visual + text),
    /// the answer tokens asked for, and the context length.
    case contextTooShort(inputTokens: Int, answerTokens: Int, context: Int)

    public var description: String {
        switch self {
        case let .badCheckpoint(m): return "checkpoint: \(m)"
        case let .unsupported(m): return m
        case let .badInput(m): return m
        case let .contextTooShort(input, answer, context):
            let room = context - input
            return "the prompt is \(input) tokens and \(answer) answer tokens are asked for; the model reads at most \(context)"
                + (room > 0 ? " (max_tokens ≤ \(room) would fit)" : " (the prompt alone does not fit)")
        }
    }
}

/// The one interface every agent backend implements (the tiny VLM now; SmolLM2 from GGUF and remote endpoints
/// later). The shell and the evaluation see only this; training sees `TrainablePolicy`. Backends are found by
/// their checkpoint's `kind` through `PolicyRegistry`.
public protocol Policy: AnyObject {
    var name: String { get }
    /// The checkpoint kind this backend is registered under in `PolicyRegistry` ("tiny-vlm").
    var kind: String { get }
    /// Whether the model sees the frame; a text-only model (a llama GGUF, a remote text endpoint) needs
    /// environments that describe their state in words (`observation=text`).
    var readsImages: Bool { get }
    /// Whether `generate` reports log-probs that `evaluate`/`score` reproduce (to float rounding). A model whose
    /// kernels round activations to 8 bits (a quantised GGUF) can differ by a rounding step between a cached,
    /// left-padded batch and a full forward; PPO then re-scores the rollout before its update (as verl does).
    var reproducibleLogProbs: Bool { get }
    /// Tokens the model reads at once: the input (visual tokens and prompt) and the answer together.
    var contextLength: Int { get }
    /// Tokens an input takes before the answer: visual tokens, and the prompt with its special tokens.
    func inputTokenCount(_ input: AgentInput) -> (visual: Int, text: Int)

    /// Batched generation: one output per input, rows independent (row i uses seed `config.seed + i`).
    /// Throws `AgentError.contextTooShort` when an input and `maxNewTokens` do not fit the context.
    func generate(_ inputs: [AgentInput], config: GenerationConfig) throws -> [PolicyOutput]
    /// Generation that continues after forced answer prefixes (an edited thought): each output's `tokenIDs` are
    /// the prefix followed by the new tokens, and every log-prob is re-scored under the same prompt.
    func generate(_ inputs: [AgentInput], prefixes: [[Int32]]?, config: GenerationConfig) throws -> [PolicyOutput]
    /// log π_T of exactly `outputTokens` after the input's prompt, with thought tokens weighted by λ.
    func evaluate(_ input: AgentInput, outputTokens: [Int32], lambda: Float, temperature: Float) throws -> PolicyEvaluation
    /// Several outputs after one input, scored in one forward pass; row k equals `evaluate(input, outputTokens:
    /// outputs[k], …)` (to float rounding).
    func evaluate(_ input: AgentInput, outputs: [[Int32]], lambda: Float, temperature: Float) throws -> [PolicyEvaluation]
    /// The value head's estimate for the state.
    func value(_ input: AgentInput) throws -> Float

    /// Token ids of a text as this policy would write it (no BOS/EOS).
    func encode(_ text: String) -> [Int32]
    func decode(_ ids: [Int32]) -> String
    /// Display form of one token.
    func tokenText(_ id: Int32) -> String
    var endOfText: Int32 { get }
    /// Token ids are 0 ..< vocabularySize.
    var vocabularySize: Int { get }

    /// How the weights were made (command, data, metrics), from the checkpoint; free-form.
    var training: [String: String] { get }
    /// One line for `model load`, e.g. "1234 parameters, vocabulary 960".
    var summary: String { get }
    /// Labelled lines for `model info` (`params:`, `decoder:`, `vision:`, `tokenizer:` for the tiny VLM).
    func describe() -> [String]
    /// Writes a checkpoint directory that `PolicyRegistry.load` reads back (backends without weights throw).
    func save(to dir: URL) throws
}

extension Policy {
    public var readsImages: Bool { true }
    public var reproducibleLogProbs: Bool { true }

    public func generate(_ inputs: [AgentInput], config: GenerationConfig) throws -> [PolicyOutput] {
        try generate(inputs, prefixes: nil, config: config)
    }

    public func evaluate(_ input: AgentInput, outputTokens: [Int32], lambda: Float, temperature: Float) throws -> PolicyEvaluation {
        try evaluate(input, outputs: [outputTokens], lambda: lambda, temperature: temperature)[0]
    }

    public func save(to dir: URL) throws { throw AgentError.unsupported("\(name) (\(kind)) has no weights to save") }

    /// Outputs generated after forced prefixes, made whole: each output's tokens become prefix + new tokens, and
    /// every log-prob is re-scored under the same prompt (the prefix was never sampled: behaviour log-prob 0).
    func rescored(_ raw: [PolicyOutput], after prefixes: [[Int32]], inputs: [AgentInput], config g: GenerationConfig) throws -> [PolicyOutput] {
        try zip(zip(inputs, prefixes), raw).map { pair, o in
            let (input, prefix) = pair
            let all = prefix + o.tokenIDs
            let ev = try evaluate(input, outputTokens: all, lambda: 1, temperature: g.greedy && g.temperature <= 0 ? 1 : g.temperature)
            let text = decode(o.finished ? Array(all.dropLast()) : all)
            return PolicyOutput(text: text, tokenIDs: all, tokenLogProbs: ev.tokenLogProbs,
                                behaviourLogProbs: Array(repeating: 0, count: prefix.count) + o.behaviourLogProbs,
                                tokenEntropies: ev.tokenEntropies, spans: ev.spans, value: ev.value, finished: o.finished)
        }
    }

    /// Whether the input and `maxNewTokens` answer tokens fit the context.
    public func fits(_ input: AgentInput, maxNewTokens: Int) -> Bool {
        (try? checkFits(input, maxNewTokens: maxNewTokens)) != nil
    }

    /// The one context check every caller shares (`think`, `step`, `auto`, `eval` through `generate`): throws
    /// `AgentError.contextTooShort` when the input plus `maxNewTokens` answer tokens exceed the context.
    public func checkFits(_ input: AgentInput, maxNewTokens: Int) throws {
        let n = inputTokenCount(input)
        try checkFits(inputTokens: n.visual + n.text, maxNewTokens: maxNewTokens)
    }

    /// The same check when the input's token count is already known (backends call it from `generate`).
    public func checkFits(inputTokens: Int, maxNewTokens: Int) throws {
        guard inputTokens + max(0, maxNewTokens) <= contextLength else {
            throw AgentError.contextTooShort(inputTokens: inputTokens, answerTokens: maxNewTokens, context: contextLength)
        }
    }
}
