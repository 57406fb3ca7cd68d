import Agents
import Foundation
import Tensors
import Training

/// PPO-GTR speed (issue 13) at the default run size: E = 8 Points24 envs × 16 steps per rollout, the default
/// agent, the oracle corrector, 4 epochs of minibatch 8. Each thread count runs in its own process
/// (`gtr-bench train-update`), so OpenBLAS's thread count and the peak RSS are that run's own.
enum TrainBench {
    /// Child mode: `updates` timed updates (Swift has no warm-up to wait for; the first is as slow as the rest).
    static func child(updates: Int) throws -> [String: Double] {
        let (m, _) = try AgentBench.model()
        var c = TrainerConfig()
        c.env = "points24"; c.options = ["solvable_only": "true"]; c.updates = updates; c.evalEvery = 0; c.checkpointEvery = 0
        let t = try Trainer(config: c, model: m)
        var gen = 0.0, corr = 0.0, upd = 0.0, steps = 0.0
        while !t.isFinished {
            if case let .updated(u) = try t.step() {
                gen += u["t_generate"] ?? 0; corr += u["t_correct"] ?? 0; upd += u["t_update"] ?? 0
                steps += Double(c.envs * c.steps)
            }
        }
        let n = Double(updates)
        return ["generate": gen / n, "correct": corr / n, "update": upd / n, "env_steps_per_s": steps / max(1e-9, gen + corr),
                "peak_rss_mb": TensorBench.peakRSSMB(), "threads": Double(BLASRuntime.threads)]
    }
}
