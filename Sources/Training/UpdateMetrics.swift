import Foundation

/// What one PPO-GTR update measured, by name (the names `train status`, `train break`, `plot` and the session log
/// use). A metric the update could not measure (card recognition on NumberLine, evaluation between evals) is absent,
/// never a made-up 0.
public struct UpdateMetrics: Sendable, Equatable, Codable {
    /// 1-based update number; 0 holds the evaluation before training.
    public var update: Int
    public var values: [String: Double]
    public init(update: Int, values: [String: Double] = [:]) { self.update = update; self.values = values }

    public subscript(_ name: String) -> Double? {
        get { values[name] }
        set { values[name] = newValue }
    }

    /// Every metric a run can log, with its meaning (`help train` and `plot` list them).
    public static let catalog: [(name: String, meaning: String)] = [
        ("train_success", "rolling success rate of training episodes (last N finished, as GTR logs)"),
        ("train_return", "rolling mean return of training episodes"),
        ("episodes", "training episodes finished in this rollout"),
        ("env_steps", "environment steps so far (all envs)"),
        ("valid", "valid-JSON rate of the rollout's outputs (GTR's format check)"),
        ("legal", "legal-action rate of the rollout's outputs"),
        ("corrected", "share of rollout steps that earned a correction (an SFT label)"),
        ("judged_wrong", "share of judged thoughts the corrector said NO to"),
        ("recognition", "card-recognition accuracy of the thoughts (formula games)"),
        ("relevance", "state relevance of the rollout's thoughts (StateRelevance: cards and a consistent formula; household: place and task object)"),
        ("distinct1", "distinct unigrams / all unigrams of the rollout's thoughts"),
        ("distinct2", "distinct bigrams / all bigrams of the rollout's thoughts"),
        ("self_bleu", "mean bigram self-BLEU of the rollout's thoughts (1 = all alike)"),
        ("thought_len", "mean thought length in tokens"),
        ("entropy", "mean per-token policy entropy (nats) of the generated tokens"),
        ("approx_kl", "approximate KL(old ‖ new) over the update (k3)"),
        ("clip_frac", "fraction of samples with |ratio − 1| > ε"),
        ("policy_loss", "PPO clipped surrogate loss"),
        ("value_loss", "clipped value loss"),
        ("sft_loss", "thought-cloning loss of the DAgger samples"),
        ("grad_norm", "gradient norm before clipping"),
        ("lr", "learning rate at the update's last optimizer step"),
        ("dagger_size", "steps in the DAgger buffer"),
        ("dagger_labelled", "labelled steps in the DAgger buffer"),
        ("corrector_calls", "corrector requests in this rollout"),
        ("cache_hits", "corrector answers served from the cache"),
        ("corrector_failures", "corrector requests without an answer (training went on)"),
        ("corrector_cost", "corrector cost in dollars for this rollout"),
        ("t_generate", "seconds generating in this update's rollout"),
        ("t_correct", "seconds waiting for the corrector"),
        ("t_update", "seconds in the PPO/SFT update"),
        ("t_eval", "seconds in the periodic evaluation"),
        ("eval_success_greedy", "held-out success, greedy decoding (fixed seeds, no truncation, no corrector)"),
        ("eval_return_greedy", "held-out mean return, greedy decoding"),
        ("eval_valid_greedy", "held-out valid-JSON rate, greedy decoding"),
        ("eval_legal_greedy", "held-out legal-action rate, greedy decoding"),
        ("eval_recognition_greedy", "held-out card-recognition accuracy, greedy decoding"),
        ("eval_relevance_greedy", "held-out state relevance of the thoughts, greedy decoding"),
        ("eval_distinct1_greedy", "held-out thought distinct-1, greedy decoding"),
        ("eval_distinct2_greedy", "held-out thought distinct-2, greedy decoding"),
        ("eval_self_bleu_greedy", "held-out thought self-BLEU, greedy decoding"),
        ("eval_distinct2_first_greedy", "held-out distinct-2 of each episode's first thought only (one per held-out state), greedy"),
        ("eval_self_bleu_first_greedy", "held-out self-BLEU of each episode's first thought only, greedy"),
        ("eval_thought_len_greedy", "held-out mean thought length in tokens, greedy decoding"),
        ("eval_success_sampled", "held-out success, sampled at the training temperature"),
        ("eval_return_sampled", "held-out mean return, sampled"),
        ("eval_valid_sampled", "held-out valid-JSON rate, sampled"),
        ("eval_legal_sampled", "held-out legal-action rate, sampled"),
        ("eval_recognition_sampled", "held-out card-recognition accuracy, sampled"),
        ("eval_relevance_sampled", "held-out state relevance, sampled"),
        ("eval_distinct2_sampled", "held-out thought distinct-2, sampled"),
        ("eval_self_bleu_sampled", "held-out thought self-BLEU, sampled"),
    ]

    public static var names: [String] { catalog.map(\.name) }

    /// The metrics shown in one line by `train status`.
    public static let headline = ["train_success", "valid", "corrected", "distinct2", "policy_loss", "value_loss", "sft_loss", "approx_kl"]

    public func line(_ names: [String] = UpdateMetrics.headline) -> String {
        names.compactMap { n in values[n].map { "\(n) \(UpdateMetrics.format($0))" } }.joined(separator: "  ")
    }

    public static func format(_ v: Double) -> String {
        if !v.isFinite { return String(v) }
        let a = abs(v)
        if a == 0 { return "0" }
        if a >= 1000 || a < 0.001 { return String(format: "%.3g", v) }
        return String(format: a >= 100 ? "%.1f" : a >= 1 ? "%.3f" : "%.4f", v)
    }
}
