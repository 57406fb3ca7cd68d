import Agents
import Environments
import Foundation
import Support
import Tensors

/// Supervised fine-tuning of a trainable policy (the tiny VLM by default) on expert steps (thought cloning with the action included: this is
/// the warm start GTR takes from RL4VLM's SFT checkpoints, not GTR's thought-only correction loss).
public struct SFTConfig: Sendable, Codable, Equatable {
    /// The model kind to train (a `PolicyRegistry` kind with a trainable backend).
    public var kind = "tiny-vlm"
    public var env = "points24"
    public var steps = 6000
    public var heldOut = 200
    public var epochs = 3
    public var batch = 16
    public var learningRate: Float = 2e-3
    public var warmup = 50
    public var seed: UInt64 = 1
    public var merges = 700
    public var dModel = 128
    public var layers = 4
    /// Fine-tune a pretrained llama GGUF (its path) with LoRA instead of training a fresh model; its expert
    /// states are in text mode (`observation=text`).
    public var base: String?
    public var lora = LoRAConfig()
    public init() {}
}

/// Held-out quality of a policy on expert states (greedy decoding).
public struct HeldOutMetrics: Sendable, Equatable {
    public var samples = 0
    public var validJSON = 0.0
    public var actionAccuracy = 0.0
    public var cardRecognition: Double?
    public var meanTokens = 0.0

    public var summary: String {
        var s = String(format: "valid JSON %.1f%%, action accuracy %.1f%%", validJSON * 100, actionAccuracy * 100)
        if let c = cardRecognition { s += String(format: ", card recognition %.1f%%", c * 100) }
        return s + String(format: " (%d held-out steps, %.0f tokens/answer)", samples, meanTokens)
    }
}

public struct SFTProgress: Sendable {
    public var step: Int
    public var totalSteps: Int
    public var loss: Float
    public var learningRate: Float
    public var samplesPerSecond: Double
}

public struct SFTResult: Sendable {
    public var losses: [Float]
    /// Held-out metrics of the final weights (empty when the run was stopped early: `stopped`).
    public var metrics: HeldOutMetrics
    /// True when `shouldStop` ended the run before its last step (the held-out evaluation is then skipped).
    public var stopped = false
    public var totalSteps = 0
    public var seconds: Double
    public var samplesPerSecond: Double
}

public enum SFT {
    /// Builds a fresh model of `cfg.kind` (through `PolicyRegistry`) whose tokenizer is trained on the task
    /// corpus of `data`.
    public static func makeModel(_ cfg: SFTConfig, data: [ExpertSample]) throws -> TrainablePolicy {
        var corpus: [String] = []
        var seenPrompts = Set<String>()
        for s in data {
            if seenPrompts.insert(s.input.prompt).inserted { corpus.append(s.input.prompt) }
            corpus.append(s.answer.text)
        }
        // the other card games' prompts too, so one tokenizer reads every env
        for name in Expert.environments where name != cfg.env {
            if let e = try? EnvironmentRegistry.make(name) { _ = try e.reset(seed: 0); corpus.append(e.prompt(thoughts: true)) }
        }
        let shape = PolicyShape(dModel: cfg.dModel, layers: cfg.layers, merges: cfg.merges, seed: cfg.seed)
        return try PolicyRegistry.makeTrainable(kind: cfg.kind, for: PolicyCorpus(texts: corpus, images: data.prefix(2000).map(\.input.image)), shape)
    }

    /// Trains `model` on `train` for `cfg.epochs` epochs with AdamW and a cosine schedule; evaluates a snapshot of
    /// the final weights on `heldOut`. `progress` is called after every optimizer step; `shouldStop` lets Ctrl-C end
    /// the run early (the model keeps what it learned so far; `stopped` is set and the held-out evaluation skipped).
    public static func train(_ model: TrainablePolicy, train: [ExpertSample], heldOut: [ExpertSample], config cfg: SFTConfig,
                             progress: (SFTProgress) -> Void = { _ in }, shouldStop: () -> Bool = { false }) throws -> SFTResult {
        guard !train.isEmpty else { throw AgentError.badInput("no training samples") }
        // checked (length within the context) and encoded once for all epochs
        let rows = try model.prepare(train.map { TrainingRow(input: $0.input, output: model.encode($0.answer.text) + [model.endOfText]) })
        let perEpoch = (rows.count + cfg.batch - 1) / cfg.batch
        let total = perEpoch * cfg.epochs
        let opt = Adam.adamW(model.namedParameters(), learningRate: cfg.learningRate, weightDecay: 0.01)
        let schedule = CosineSchedule(peak: cfg.learningRate, floor: cfg.learningRate * 0.05, warmupSteps: min(cfg.warmup, max(1, total / 10)), totalSteps: total)
        var rng = SeededRNG(seed: cfg.seed ^ 0x5F7)
        var losses: [Float] = []
        let start = Date()
        var step = 0, seen = 0
        var stopped = false
        epochs: for _ in 0..<cfg.epochs {
            var order = Array(rows.indices)
            for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, rng.int(in: 0...i)) }
            for b in 0..<perEpoch {
                if shouldStop() { stopped = true; break epochs }
                let batch = order[(b * cfg.batch)..<min(order.count, (b + 1) * cfg.batch)].map { rows[$0] }
                let tokens = Float(batch.reduce(0) { $0 + $1.output.count })
                opt.learningRate = schedule(step)
                let s = try model.score(batch, temperature: 1)
                // mean token NLL over the batch
                let loss = s.weighted.sum() * (-1 / tokens)
                model.zeroGrad()
                loss.backward()
                _ = clipGradNorm(model.parameters, maxNorm: 1)
                opt.step()
                step += 1; seen += batch.count
                losses.append(loss.item())
                progress(SFTProgress(step: step, totalSteps: total, loss: losses.last!, learningRate: opt.learningRate,
                                     samplesPerSecond: Double(seen) / max(1e-9, Date().timeIntervalSince(start))))
            }
        }
        let seconds = Date().timeIntervalSince(start)
        // held-out generation reads an immutable snapshot, never the weights being trained
        let metrics = stopped ? HeldOutMetrics() : try evaluate(model.snapshot(), on: heldOut)
        return SFTResult(losses: losses, metrics: metrics, stopped: stopped, totalSteps: total, seconds: seconds,
                         samplesPerSecond: Double(seen) / max(seconds, 1e-9))
    }

    /// Greedy answers on expert states: strict-JSON validity, action == expert action, and card recognition.
    public static func evaluate(_ policy: Policy, on samples: [ExpertSample], batch: Int = 16) throws -> HeldOutMetrics {
        guard !samples.isEmpty else { return HeldOutMetrics() }
        var valid = 0, correct = 0, recognised = 0, recognisable = 0, tokens = 0
        var envs: [String: Environment] = [:]
        for chunk in stride(from: 0, to: samples.count, by: batch) {
            let part = Array(samples[chunk..<min(samples.count, chunk + batch)])
            let outs = try policy.generate(part.map(\.input), config: GenerationConfig(greedy: true))
            for (s, o) in zip(part, outs) {
                let env: Environment
                if let e = envs[s.env] { env = e } else { env = try EnvironmentRegistry.make(s.env); envs[s.env] = env }
                let parse = env.strictParse(o.text)
                if parse.valid && o.finished { valid += 1 }
                // Command-style actions are read from the answer (a fresh env has no admissible list to project onto).
                let action = env.actionsAreCommands ? parse.action : env.project(o.text).action
                if action == s.answer.action { correct += 1 }
                if let r = s.truth.recognised(by: parse.json) { recognisable += 1; if r { recognised += 1 } }
                tokens += o.tokenIDs.count
            }
        }
        let n = Double(samples.count)
        return HeldOutMetrics(samples: samples.count, validJSON: Double(valid) / n, actionAccuracy: Double(correct) / n,
                              cardRecognition: recognisable > 0 ? Double(recognised) / Double(recognisable) : nil,
                              meanTokens: Double(tokens) / n)
    }
}
