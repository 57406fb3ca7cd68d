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
        let data: Data
        do { data = try Data(contentsOf: cfgURL) } catch { throw AgentError.badCheckpoint("\(cfgURL.path): \(fileProblem(cfgURL, error))") }
        do { cfg = try JSONDecoder().decode(TinyVLMCheckpointConfig.self, from: data) } catch {
            throw AgentError.badCheckpoint("\(cfgURL.path) is not a tiny-vlm config: \(TinyVLM.configProblem(data, error))")
        }
        guard cfg.kind == TinyVLM.kind else { throw AgentError.badCheckpoint("unknown model kind '\(cfg.kind)'") }
        let m = try TinyVLM(config: cfg.model, tokenizer: cfg.tokenizer)
        do { try Checkpoint.load(m, from: wURL.path) } catch {
            throw AgentError.badCheckpoint("\(wURL.path): \(fileProblem(wURL, error))")
        }
        m.training = cfg.training
        return m
    }

    /// The integer fields of the model's config (a fraction or an out-of-range number there is named, where
    /// Foundation would only say that the data "was not valid JSON").
    static let integerFields: Set<String> = ["imageSide", "downsample", "patch", "valueHidden", "vocabSize", "dModel", "layers",
                                             "heads", "kvHeads", "ffnHidden", "maxSequence"]

    /// What is wrong with a config that did not decode, in gtr's words: not JSON at all, a field that is not a
    /// whole number, or the decoder's own finding with its field path.
    static func configProblem(_ data: Data, _ error: Error) -> String {
        guard let root = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) else { return "not valid JSON" }
        func find(_ v: Any, _ path: [String]) -> String? {
            if let d = v as? [String: Any] {
                for k in d.keys.sorted() { if let r = find(d[k]!, path + [k]) { return r } }
            } else if let n = v as? NSNumber, let key = path.last, integerFields.contains(key), path.first == "model" {
                let x = n.doubleValue
                if x != x.rounded() || !x.isFinite { return "\(path.joined(separator: ".")) is \(n), not a whole number" }
                if abs(x) > 9.0e18 { return "\(path.joined(separator: ".")) is \(n), out of range" }
            } else if let n = v as? NSNumber, path.last == "normEps" {
                // Too large, or so small that the decoder's Float rounds it to zero: that happens only on a thread
                // with flush-to-zero set (gtr's workers), where the decoder gives no field path.
                let x = abs(n.doubleValue)
                if x > Double(Float.greatestFiniteMagnitude) || (x > 0 && x < Double(Float.leastNormalMagnitude)) {
                    return "\(path.joined(separator: ".")) is \(n), out of range for a 32-bit float"
                }
            }
            return nil
        }
        if let r = find(root, []) { return r }
        return short(error)
    }

    /// A decoding error in gtr's words, with the field's path.
    static func short(_ e: Error) -> String {
        guard let d = e as? DecodingError else { return "\(e)" }
        func path(_ c: DecodingError.Context, _ last: CodingKey? = nil) -> String {
            let keys = c.codingPath.map(\.stringValue) + (last.map { [$0.stringValue] } ?? [])
            return keys.isEmpty ? "the file" : keys.joined(separator: ".")
        }
        func kind(_ t: Any.Type) -> String {
            switch t {
            case is Int.Type, is Int32.Type, is Int64.Type, is UInt64.Type: return "a whole number"
            case is Double.Type, is Float.Type: return "a number"
            case is String.Type: return "text"
            case is Bool.Type: return "true or false"
            default: return "\(t)".hasPrefix("Array") ? "a list" : "\(t)".hasPrefix("Dictionary") ? "an object" : "a \(t)"
            }
        }
        switch d {
        case let .keyNotFound(k, c): return "\(path(c, k)) is missing"
        case let .typeMismatch(t, c): return "\(path(c)) should be \(kind(t))"
        case let .valueNotFound(t, c): return "\(path(c)) is null; it should be \(kind(t))"
        case let .dataCorrupted(c): return "\(path(c)) has a value gtr does not know"
        @unknown default: return "a field is not what gtr expects"
        }
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
