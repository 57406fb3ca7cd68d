import Foundation
import Support

/// Every policy backend, keyed by the `kind` a checkpoint's `config.json` names: loading dispatches on it, and
/// training builds fresh models through it, so no caller names a concrete model class.
public enum PolicyRegistry {
    public struct Entry: Sendable {
        public var kind: String
        /// Reads a checkpoint of this kind; every failure is one `AgentError`.
        public var load: @Sendable (URL) throws -> Policy
        /// Builds a fresh model to train, for kinds that can be trained here.
        public var makeTrainable: (@Sendable (PolicyCorpus, PolicyShape) throws -> TrainablePolicy)?
        public init(kind: String, load: @escaping @Sendable (URL) throws -> Policy,
                    makeTrainable: (@Sendable (PolicyCorpus, PolicyShape) throws -> TrainablePolicy)? = nil) {
            self.kind = kind; self.load = load; self.makeTrainable = makeTrainable
        }
    }

    /// The registered backends: the tiny VLM, and a llama GGUF (SmolLM2 on the tensor core: a `.gguf` file, or a
    /// directory whose config.json names one). Remote endpoints are attached by `model connect`, not loaded.
    public static let entries: [Entry] = [
        Entry(kind: TinyVLM.kind, load: { try TinyVLM.load(from: $0) },
              makeTrainable: { try TinyVLM.makeTrainable(corpus: $0, shape: $1) }),
        Entry(kind: LlamaPolicy.kind, load: { try LlamaPolicy.load(from: $0) }),
    ]

    /// The kind a checkpoint was written by before the registry existed (and the fallback for a config.json whose
    /// kind cannot be read: that loader reports what is wrong with the file).
    public static let defaultKind = TinyVLM.kind

    public static var kinds: [String] { entries.map(\.kind) }
    public static var trainableKinds: [String] { entries.filter { $0.makeTrainable != nil }.map(\.kind) }

    public static func entry(_ kind: String) -> Entry? { entries.first { $0.kind == kind } }

    /// The `kind` of the checkpoint directory `dir`.
    public static func kind(of dir: URL) throws -> String {
        let cfg = dir.appendingPathComponent("config.json")
        guard FileManager.default.fileExists(atPath: cfg.path) else {
            throw AgentError.badCheckpoint("\(dir.path) has no config.json (a checkpoint is a directory with config.json and model.safetensors)")
        }
        guard !isNonRegularFile(cfg) else { throw AgentError.badCheckpoint("\(cfg.path) is not a regular file") }
        struct Probe: Decodable { var kind: String? }
        guard let data = try? Data(contentsOf: cfg), let probe = try? JSONDecoder().decode(Probe.self, from: data), let kind = probe.kind else {
            return defaultKind
        }
        return kind
    }

    /// Loads the checkpoint directory `dir` with the backend its config.json names (a `.gguf` file loads as a
    /// llama policy).
    public static func load(from dir: URL) throws -> Policy {
        if dir.pathExtension.lowercased() == "gguf" {
            guard FileManager.default.fileExists(atPath: dir.path) else { throw AgentError.badCheckpoint("\(dir.path) does not exist") }
            guard !isNonRegularFile(dir) else { throw AgentError.badCheckpoint("\(dir.path) is not a regular file") }
            return try LlamaPolicy.load(from: dir)
        }
        let kind = try kind(of: dir)
        guard let e = entry(kind) else {
            throw AgentError.badCheckpoint("\(dir.path): unknown model kind '\(kind)' (known: \(kinds.joined(separator: ", ")))")
        }
        return try e.load(dir)
    }

    /// Loads `dir` as a model to train (its weights are copied into a fresh trainable model).
    public static func loadTrainable(from dir: URL) throws -> TrainablePolicy {
        let p = try load(from: dir)
        guard let t = p as? TrainablePolicy else {
            throw AgentError.unsupported("model kind '\(p.kind)' cannot be trained here (trainable: \(trainableKinds.joined(separator: ", ")))")
        }
        return t
    }

    /// A trainable deep copy of `policy` (written to a temporary checkpoint and read back), so training never
    /// changes the weights the caller holds.
    public static func trainableCopy(of policy: Policy) throws -> TrainablePolicy {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gtr-copy-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try policy.save(to: dir)
        return try loadTrainable(from: dir)
    }

    /// A fresh model of `kind` to train on a task whose texts and frames are `corpus`.
    public static func makeTrainable(kind: String, for corpus: PolicyCorpus, _ shape: PolicyShape) throws -> TrainablePolicy {
        guard let make = entry(kind)?.makeTrainable else {
            throw AgentError.unsupported("model kind '\(kind)' cannot be trained here (trainable: \(trainableKinds.joined(separator: ", ")))")
        }
        return try make(corpus, shape)
    }
}

/// Where the default agent comes from: a checkpoint trained by the user (`sft … out=default`) in
/// `$GTR_HOME/models/default`, else the one shipped in `Sources/Agents/DefaultAgent` (made by `shippedRecipe`),
/// else one trained on the spot with `quickRecipe` (under 5 minutes on 2 cores) and cached.
public enum DefaultAgent {
    /// The command that produced the shipped checkpoint (also recorded in its config.json).
    public static let shippedRecipe = "sft env=points24 steps=8000 epochs=4 seed=1 out=DIR"
    /// What `model load default` runs when no checkpoint exists at all.
    public static let quickRecipe = "sft env=points24 steps=4000 epochs=3 seed=1 out=default"

    public static func cache(home: URL) -> URL { home.appendingPathComponent("models/default") }

    /// The shipped checkpoint: next to the executable (SwiftPM resource bundle) or in the source tree.
    public static var shipped: URL? {
        let exe = URL(fileURLWithPath: CommandLine.arguments.first ?? "").resolvingSymlinksInPath().deletingLastPathComponent()
        let candidates = [
            exe.appendingPathComponent("gtr_Agents.resources/DefaultAgent"),
            Bundle.main.bundleURL.appendingPathComponent("gtr_Agents.resources/DefaultAgent"),
            URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("DefaultAgent"),
        ]
        return candidates.first { FileManager.default.fileExists(atPath: $0.appendingPathComponent("model.safetensors").path) }
    }

    /// The default agent's checkpoint directory: the user's cached one, else the shipped one.
    public static func locate(home: URL) -> URL? {
        let c = cache(home: home)
        if FileManager.default.fileExists(atPath: c.appendingPathComponent("model.safetensors").path) { return c }
        return shipped
    }

    /// Loads the default agent (nil when there is none to load; training one is the caller's business).
    public static func load(home: URL) throws -> (policy: Policy, from: URL)? {
        guard let url = locate(home: home) else { return nil }
        return (try PolicyRegistry.load(from: url), url)
    }
}
