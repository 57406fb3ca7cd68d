import Foundation
import SessionLog
import Testing
@testable import Shell

/// `train` and `plot` in one shell: runs beside the interpreter, pause, label, rollback, inspect, breakpoints,
/// metrics in the session log, charts, and one-line errors for bad input.
@Suite(.serialized) struct TrainCommandTests {
    static let model = "sft env=numberline steps=120 epochs=1 merges=200 d_model=32 layers=1 held_out=0 seed=3"
    static let run = "train start algo=gtr env=numberline steps=2 envs=2 eval_episodes=2 max_tokens=60 seed=5 env_options=\"time_limit=6\" checkpoint_every=1"

    func shell(_ dir: URL) -> Shell {
        let sh = makeShell(dir)
        sh.autoLoadDefault = false
        #expect(sh.execute(Self.model), "\(sh.lastOutput)")
        return sh
    }

    @Test func aRunLogsEveryUpdateAndCanBeInspectedPlottedAndBranched() throws {
        let dir = tempDir()
        let sh = shell(dir)
        #expect(sh.execute(Self.run + " updates=3 eval_every=2"), "\(sh.lastOutput)")
        #expect(sh.execute("train wait"), "\(sh.lastOutput)")
        #expect(sh.lastOutput.contains("run 1 finished: 3 updates"), "\(sh.lastOutput)")
        #expect(sh.variables["train_state"] == "finished" && sh.variables["train_update"] == "3")
        // Every update's metrics are in the session log, and update 0 holds the evaluation before training.
        let log = try #require(sh.log)
        let valid = try log.trainingMetric(run: 1, name: "valid")
        #expect(valid.map(\.update) == [1, 2, 3])
        #expect(try log.trainingMetric(run: 1, name: "eval_success_greedy").map(\.update) == [0, 2, 3])
        let names = try log.trainingMetricNames(run: 1)
        for n in ["train_success", "valid", "legal", "corrected", "distinct1", "distinct2", "self_bleu", "thought_len", "entropy", "approx_kl",
                  "clip_frac", "policy_loss", "value_loss", "grad_norm", "lr", "corrector_calls", "cache_hits", "corrector_cost",
                  "t_generate", "t_correct", "t_update", "eval_success_sampled"] {
            #expect(names.contains(n), "metric \(n) not logged")
        }
        // inspect: the last rollout, worst advantage first.
        #expect(sh.execute("train inspect limit=3"), "\(sh.lastOutput)")
        #expect(sh.lastOutput.contains("update 3 of run 1: 4 step(s), first 3"), "\(sh.lastOutput)")
        #expect(sh.execute("train inspect update=1 sort=step only=invalid"), "\(sh.lastOutput)")
        #expect(!sh.execute("train inspect update=9"))
        #expect(sh.lastOutput.contains("update 9 is not kept"), "\(sh.lastOutput)")
        // plot: a sparkline per metric, and a PNG.
        #expect(sh.execute("plot valid,distinct2 c.png"), "\(sh.lastOutput)")
        #expect(sh.lastOutput.contains("distinct2") && sh.lastOutput.contains("(updates 1…3)"), "\(sh.lastOutput)")
        let png = try Data(contentsOf: dir.appendingPathComponent("c.png"))
        #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]))
        // rollback: a new run from update 1's checkpoint, whose update 2 repeats the original exactly.
        #expect(sh.execute("train rollback 1"), "\(sh.lastOutput)")
        #expect(sh.execute("train wait"))
        let a = try log.trainingMetric(run: 1, name: "distinct2"), b = try log.trainingMetric(run: 2, name: "distinct2")
        #expect(b.map(\.update) == [2, 3] && b.map(\.value) == Array(a.dropFirst().map(\.value)))
        #expect(sh.execute("train runs"))
        #expect(sh.lastOutput.contains("└ run 2") && sh.lastOutput.contains("(from run 1 update 1)"), "\(sh.lastOutput)")
        #expect(sh.execute("plot compare run=1,2 distinct2 cmp.png"), "\(sh.lastOutput)")
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("cmp.png").path))
        // Bad input: one line each, nothing crashes.
        for (cmd, msg) in [("train rollback 7", "no checkpoint at update 7"), ("plot nosuch", "logged no 'nosuch'"),
                           ("plot valid out.txt", "must end in .png"), ("train break when bogus < 1", "unknown metric 'bogus'"),
                           ("train break when valid ~ 1", "usage: train break"), ("train start envs=0", "envs=0"),
                           ("train start corrector=nobody", "unknown corrector 'nobody'"), ("train start corrector=human", "cannot answer inside a run"),
                           ("train start env=numberline env_options=\"max_position=500\"", "max_position=500"), ("train status updates=3", "updates= is an option of train start"),
                           ("train resume run=99", "run 99 has no checkpoint"), ("plot compare run=1 valid", "usage: plot compare")] {
            #expect(!sh.execute(cmd), "\(cmd) should fail")
            #expect(sh.lastOutput.contains(msg), "\(cmd): \(sh.lastOutput)")
        }
        sh.close()
    }

    @Test func pauseHandDriveLabelAndResumeInOneShell() throws {
        let dir = tempDir()
        let sh = shell(dir)
        #expect(sh.execute(Self.run + " updates=400 eval_every=0"), "\(sh.lastOutput)")
        // The prompt stays usable while the run goes on.
        #expect(sh.execute("env numberline seed=4"))
        #expect(sh.execute("train status"))
        #expect(sh.lastOutput.contains("run 1 (gtr on numberline): running"), "\(sh.lastOutput)")
        #expect(sh.execute("train pause"), "\(sh.lastOutput)")
        #expect(sh.lastOutput.contains("run 1 paused at update"), "\(sh.lastOutput)")
        let pausedAt = try #require(sh.training).trainer.envSteps
        // Drive the current policy by hand; label the edited thought.
        #expect(sh.execute("think"), "\(sh.lastOutput)")
        #expect(sh.execute("thought set '{\"current number\": 5, \"target number\": 0, \"thoughts\": \"5 is above 0, so I subtract one.\", '"), "\(sh.lastOutput)")
        #expect(sh.execute("train label action=-"), "\(sh.lastOutput)")
        #expect(sh.lastOutput.contains("\"action\": \"-\"}") && sh.lastOutput.contains("(1 by hand)"), "\(sh.lastOutput)")
        #expect(try #require(sh.training).trainer.envSteps == pausedAt, "hand-driving must not step the run's envs")
        #expect(!sh.execute("train start updates=2"))
        #expect(sh.execute("train break when env_steps >= \(pausedAt + 8)"))
        #expect(sh.execute("train resume"), "\(sh.lastOutput)")
        #expect(sh.execute("train wait"), "\(sh.lastOutput)")
        #expect(sh.lastOutput.contains("breakpoint tripped at update"), "\(sh.lastOutput)")
        #expect(sh.variables["train_state"] == "paused")
        #expect(try #require(sh.training).trainer.dagger.sources[.human] == 1)
        #expect(sh.execute("train stop"), "\(sh.lastOutput)")
        #expect(sh.lastOutput.contains("stopped"), "\(sh.lastOutput)")
        sh.close()
    }
}
