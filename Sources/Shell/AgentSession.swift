import Agents
import Environments
import Foundation
import SessionLog
import Training

/// The shell's agent: the loaded policy, how it samples, and its last turn (for `thought`, edits and `rescore`).
final class AgentSession {
    /// What generation reads: a loaded checkpoint, or an immutable snapshot of a model trained in this session.
    var policy: Policy?
    /// Where the policy came from (a path, "default", or "sft").
    var source = ""
    var generation = GenerationConfig()
    /// λ = thought_prob_coef: weight of thought tokens in the reported log-prob (0.5 as GTR's card scripts).
    var lambda: Float = 0.5
    /// Generations so far; generation k samples with seed `generation.seed + k`, so a replay draws the same tokens.
    var counter: UInt64 = 0
    var turn: AgentTurn?
    /// Called after every SFT optimizer step with the step number (tests use it to press Ctrl-C mid-training).
    var onTrainingStep: ((Int) -> Void)?
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
    /// The edited thought in canonical form (`thought edit`, `thought set`, `correct apply`; see ThoughtEditing.swift).
    var editedThought: String?

    /// `"action": …}` as the model wrote it, or empty.
    var actionText: String {
        guard let c = output.spans.actionCharOffset else { return "" }
        return String(output.text.dropFirst(c))
    }
}
