import Support
import Foundation
import Tensors

/// One row to score in training: the input, the answer ids (EOS included when the answer ended with it) and a
/// weight per answer token (λ for thought tokens, 1 for action tokens, 0 masks a token).
public struct TrainingRow: Sendable {
    public var input: AgentInput
    public var output: [Int32]
    public var weights: [Float]
    /// The input as the policy that `prepare`d this row reads it; nil until prepared.
    public internal(set) var encoded: EncodedInput?
    public init(input: AgentInput, output: [Int32], weights: [Float]) {
        self.input = input; self.output = output; self.weights = weights
    }
    /// Every answer token weighted 1 (SFT's cross-entropy).
    public init(input: AgentInput, output: [Int32]) {
        self.init(input: input, output: output, weights: Array(repeating: 1, count: output.count))
    }
}

/// An input as one policy reads it (for the tiny VLM: the centred patches and `<bos> prompt <sep>` ids), made
/// once by `TrainablePolicy.prepare` so that scoring the same rows every epoch does not re-encode frames and
/// prompts. Only the policy that made it uses it; any other re-encodes the input.
public struct EncodedInput: @unchecked Sendable {
    let owner: AnyObject
    let visual: [Float]
    let tokens: [Int]
}

/// Differentiable scores of a batch of `TrainingRow`s under the tempered policy softmax(logits / T).
public struct PolicyScores {
    /// Σₖ wₖ·log π_T(oₖ | prefix) per row, in the graph: (B). SFT's loss is −Σ / tokens; PPO's ratio is
    /// exp(weighted − old weighted) with the rows' λ weights.
    public var weighted: Tensor<Float>
    /// The value head per row (at the last input position), in the graph: (B).
    public var value: Tensor<Float>
    /// Per-token log π_T of each row's answer (no gradient), for reporting.
    public var tokenLogProbs: [[Float]]
    /// Per-token entropy (nats) of the scored distribution (no gradient).
    public var entropies: [[Float]]
    public init(weighted: Tensor<Float>, value: Tensor<Float>, tokenLogProbs: [[Float]], entropies: [[Float]]) {
        self.weighted = weighted; self.value = value; self.tokenLogProbs = tokenLogProbs; self.entropies = entropies
    }
}

/// A policy with weights that training updates: differentiable scoring, its parameters (through `Module`:
/// `namedParameters()`, `parameters`, `zeroGrad()`), checkpoints and immutable snapshots. SFT and PPO see only
/// this; models to train come from `PolicyRegistry.makeTrainable`.
public protocol TrainablePolicy: Policy, Module {
    /// How the weights were made; the trainer records its command and metrics here before saving.
    var training: [String: String] { get set }
    /// Scores a batch in one forward pass; the tensors are part of the autograd graph (call inside
    /// `Autograd.noGrad` when no gradient is needed). Throws for a bad input or a row longer than the context.
    func score(_ rows: [TrainingRow], temperature: Float) throws -> PolicyScores
    /// Checks rows (weights per token, ids in the vocabulary, length within the context) and encodes their
    /// inputs once, for rows that are scored many times (SFT epochs, PPO minibatches).
    func prepare(_ rows: [TrainingRow]) throws -> [TrainingRow]
    /// A deep copy of the current weights, frozen for inference: generation reads it while training keeps
    /// updating this model, and its outputs never change afterwards.
    func snapshot() -> Policy
}

/// What a fresh trainable model is built from: the task's texts (prompts and expert answers, for the tokenizer)
/// and frames (for input statistics such as the tiny VLM's pixel mean).
public struct PolicyCorpus: Sendable {
    public var texts: [String]
    public var images: [RGBImage]
    public init(texts: [String], images: [RGBImage]) { self.texts = texts; self.images = images }
}

/// The size of a fresh model: width, depth, tokenizer merges and the initialisation seed.
public struct PolicyShape: Codable, Sendable, Equatable {
    public var dModel = 128
    public var layers = 4
    public var merges = 700
    public var seed: UInt64 = 1
    public init(dModel: Int = 128, layers: Int = 4, merges: Int = 700, seed: UInt64 = 1) {
        self.dModel = dModel; self.layers = layers; self.merges = merges; self.seed = seed
    }
}
