import Foundation
import Support
import Tensors

/// Checkpoints, snapshots, fresh models for training and the description `model info` prints.
extension TinyVLM {
    /// Writes `model.safetensors` and `config.json` (model shape, tokenizer, how it was trained) into `dir`.
    public func save(to dir: URL) throws {
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let cfg = TinyVLMCheckpointConfig(model: config, tokenizer: tokenizer, training: training)
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        try enc.encode(cfg).write(to: dir.appendingPathComponent("config.json"))
        try Checkpoint.save(self, metadata: ["format": "gtr tiny-vlm 1"], to: dir.appendingPathComponent("model.safetensors").path)
    }

    /// Loads a checkpoint directory; every failure is one clear `AgentError`.
    public static func load(from dir: URL) throws -> TinyVLM {
        let cfgURL = dir.appendingPathComponent("config.json"), wURL = dir.appendingPathComponent("model.safetensors")
        guard FileManager.default.fileExists(atPath: cfgURL.path) else {
            throw AgentError.badCheckpoint("\(dir.path) has no config.json (a checkpoint is a directory with config.json and model.safetensors)")
        }
        for u in [cfgURL, wURL] where isNonRegularFile(u) { throw AgentError.badCheckpoint("\(u.path) is not a regular file") }
        let cfg: TinyVLMCheckpointConfig
        do { cfg = try JSONDecoder().decode(TinyVLMCheckpointConfig.self, from: Data(contentsOf: cfgURL)) } catch {
            throw AgentError.badCheckpoint("\(cfgURL.path) is not a tiny-vlm config: \(TinyVLM.short(error))")
        }
        guard cfg.kind == TinyVLM.kind else { throw AgentError.badCheckpoint("unknown model kind '\(cfg.kind)'") }
        let m = try TinyVLM(config: cfg.model, tokenizer: cfg.tokenizer)
        do { try Checkpoint.load(m, from: wURL.path) } catch {
            throw AgentError.badCheckpoint("\(wURL.path): \(fileProblem(wURL, error))")
        }
        m.training = cfg.training
        return m
    }

    static func short(_ e: Error) -> String {
        if let d = e as? DecodingError {
            switch d {
            case let .keyNotFound(k, _): return "missing key '\(k.stringValue)'"
            case let .typeMismatch(_, c), let .valueNotFound(_, c), let .dataCorrupted(c):
                return c.debugDescription + (c.codingPath.isEmpty ? "" : " at " + c.codingPath.map(\.stringValue).joined(separator: "."))
            @unknown default: return "\(d)"
            }
        }
        return "\(e)"
    }

    /// A deep copy of the weights with gradients off: what generation reads while this model trains on.
    public func snapshot() -> Policy {
        let copy = TinyVLM(validated: config, tokenizer: tokenizer, seed: 0)
        for ((_, dst), (_, src)) in zip(copy.namedParameters(), namedParameters()) { dst.assign(src) }
        copy.freeze()
        copy.name = name
        copy.training = training
        return copy
    }

    /// A fresh model to train: a byte-level BPE tokenizer trained on the corpus texts, the small shape at the
    /// given width and depth (one head per 32 channels, FFN 3·d), and the pixel mean of the corpus frames.
    public static func makeTrainable(corpus: PolicyCorpus, shape: PolicyShape) throws -> TinyVLM {
        let tok = BPETokenizer.train(corpus: corpus.texts, mergeCount: shape.merges)
        var mc = TinyVLMConfig.small(vocabSize: tok.vocabSize)
        mc.transformer.dModel = shape.dModel
        mc.transformer.layers = shape.layers
        mc.transformer.ffnHidden = shape.dModel * 3
        mc.transformer.heads = max(1, shape.dModel / 32)
        mc.transformer.kvHeads = mc.transformer.heads
        let m = try TinyVLM(config: mc, tokenizer: tok, seed: shape.seed)
        try m.fitPixelMean(corpus.images)
        return m
    }

    // MARK: description

    public var summary: String { "\(parameterCount) parameters, vocabulary \(tokenizer.vocabSize)" }

    public func describe() -> [String] {
        let c = config.transformer
        return [
            "params:    \(parameterCount) (\(String(format: "%.2f", Double(parameterCount * 4) / 1e6)) MB fp32)",
            "decoder:   d=\(c.dModel) layers=\(c.layers) heads=\(c.heads) ffn=\(c.ffnHidden) \(c.norm.rawValue)norm \(c.activation.rawValue) \(c.positions.rawValue) context=\(c.maxSequence)",
            "vision:    \(config.imageSide)px / \(config.downsample) → \(config.patchesPerSide)×\(config.patchesPerSide) patches of \(config.patch)px = \(config.patchCount) visual tokens",
            "tokenizer: byte-level BPE, \(tokenizer.vocabSize) ids (\(tokenizer.merges.count) merges)",
        ]
    }
}
