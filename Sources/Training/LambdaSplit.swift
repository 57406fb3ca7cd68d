import Agents
import Foundation

/// RL4VLM's λ-weighted log-prob (digest §3, eq. 2) as the weights of a PPO `TrainingRow`:
/// log π(a|o) = λ·Σ log π(thought tokens) + Σ log π(action tokens), λ = 0.5 for the card games, 0.2 for ALFWorld.
///
/// The split is `OutputSpans.actionTokenStart`: the token holding the quote of the last `"action":` (found by
/// character offsets in the decoded text) and everything after it, EOS included, are action tokens (weight 1);
/// all tokens before it are thought tokens (weight λ). Without an `"action":` the whole output is thought.
///
/// How it fits a trainer: at rollout time, `row(input:output:lambda:)` turns each generated `PolicyOutput` into the
/// row PPO re-scores, and `oldLogProb(output, lambda:)` is the matching behaviour log-prob (the tempered policy's,
/// which `TrainablePolicy.score(rows, temperature: T).weighted` reproduces for the same weights). Both use the
/// step's own prompt (digest §11 bug 6).
public enum LambdaSplit {
    /// GTR's λ per environment family (`--thought-prob-coef`).
    public static func defaultLambda(env: String) -> Float { env == "alfworld" ? 0.2 : 0.5 }

    /// λ on tokens 0 ..< actionTokenStart, 1 on the rest.
    public static func weights(count: Int, actionTokenStart: Int, lambda: Float) -> [Float] {
        let split = min(max(0, actionTokenStart), count)
        return [Float](repeating: lambda, count: split) + [Float](repeating: 1, count: count - split)
    }

    /// The PPO row of one generated output: its exact token ids after the step's input, λ-weighted.
    public static func row(input: AgentInput, output: PolicyOutput, lambda: Float) -> TrainingRow {
        TrainingRow(input: input, output: output.tokenIDs,
                    weights: weights(count: output.tokenIDs.count, actionTokenStart: output.spans.actionTokenStart, lambda: lambda))
    }

    /// λ·thought + action log-prob of an output as generated, summed in Double (the "old" log-prob of PPO).
    public static func oldLogProb(_ output: PolicyOutput, lambda: Float) -> Double {
        let w = weights(count: output.tokenLogProbs.count, actionTokenStart: output.spans.actionTokenStart, lambda: lambda)
        return zip(w, output.tokenLogProbs).reduce(0) { $0 + Double($1.0) * Double($1.1) }
    }
}
