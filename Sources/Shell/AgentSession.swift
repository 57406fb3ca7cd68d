import Agents
import Environments
import Foundation
import SessionLog
import Training

/// The shell's agent: the loaded policy, how it samples, and its last turn (for `thought`, edits and `rescore`).
final class AgentSession {
    var policy: TinyVLM?
    /// Where the policy came from (a path, "default", or "sft").
    var source = ""
    var generation = GenerationConfig()
    /// λ = thought_prob_coef: weight of thought tokens in the reported log-prob (0.5 as GTR's card scripts).
    var lambda: Float = 0.5
    /// Generations so far; generation k samples with seed `generation.seed + k`, so a replay draws the same tokens.
    var counter: UInt64 = 0
    var turn: AgentTurn?
}

/// One agent turn: the state it saw, what it wrote, and the user's edit of its thought.
struct AgentTurn {
    var env: Environment
    var episode: Int
    var t: Int
    var input: AgentInput
    var output: PolicyOutput
    /// Which generation of the session this is (`correct apply` checks the correction is for this thought).
    var generationID: UInt64 = 0
    /// The thought prefix after `thought edit` / `thought set` (the text before `"action":`).
    var editedThought: String?

    /// The text before the action: what λ weighs and what `thought edit` changes.
    var thoughtText: String {
        guard let c = output.spans.actionCharOffset else { return output.text }
        return String(output.text.prefix(c))
    }
    /// `"action": …}` as the model wrote it, or empty.
    var actionText: String {
        guard let c = output.spans.actionCharOffset else { return "" }
        return String(output.text.dropFirst(c))
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
            URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Agents/DefaultAgent"),
        ]
        return candidates.first { FileManager.default.fileExists(atPath: $0.appendingPathComponent("model.safetensors").path) }
    }

    public static func locate(home: URL) -> URL? {
        let c = cache(home: home)
        if FileManager.default.fileExists(atPath: c.appendingPathComponent("model.safetensors").path) { return c }
        return shipped
    }
}
