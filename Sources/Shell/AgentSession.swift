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

/// Where the default agent lives and how it is made.
public enum DefaultAgent {
    /// The command that (re)creates the default agent; `model load default` runs it when the cache is empty.
    public static let recipe = "sft env=points24 steps=6000 epochs=3 seed=1 out=default"

    public static func directory(home: URL) -> URL { home.appendingPathComponent("models/default") }
    public static func exists(home: URL) -> Bool {
        FileManager.default.fileExists(atPath: directory(home: home).appendingPathComponent("model.safetensors").path)
    }
}
