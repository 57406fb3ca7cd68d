import Foundation
import Testing
@testable import Shell

/// `experiment` from the shell: the reduced collapse experiment (one seed, a tiny budget) from the default agent,
/// its variables and files, and one-line errors.
@Suite(.serialized) struct ExperimentCommandTests {
    static let tiny = "experiment seeds=1 env=points24 updates=1 steps=2 envs=2 eval_every=1 eval_episodes=2 max_tokens=80 truncation=true env_options=\"time_limit=8\""

    @Test func theReducedExperimentRunsEndToEnd() throws {
        let dir = tempDir()
        let sh = makeShell(dir)
        #expect(sh.execute(Self.tiny + " out=res prefix=tiny"), "\(sh.lastOutput)")
        let text = sh.lastOutput
        #expect(text.contains("| initial (SFT) |") && text.contains("| ppo | 1 |") && text.contains("| gtr | 1 |") && text.contains("| sft-only | 1 |"), "\(text)")
        #expect(text.contains("collapse under ppo"), "\(text)")
        #expect(sh.variables["experiment_runs"] == "3")
        for algo in ["ppo", "gtr", "sft_only"] {
            let v = try #require(sh.variables["experiment_\(algo)_distinct2_greedy"].flatMap(Double.init))
            #expect(v >= 0 && v <= 1)
        }
        #expect(sh.execute("expect $experiment_initial_valid_greedy >= 0 \"initial metrics are published\""), "\(sh.lastOutput)")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("res").path)
        #expect(files.contains("tiny-report.md") && files.contains("tiny-results.json") && files.contains("tiny-eval_distinct2_greedy.png"), "\(files)")
        // Every run is in the session log like a train run.
        let log = try #require(sh.log)
        #expect(try log.trainingMetric(run: 1, name: "eval_distinct2_greedy").map(\.update) == [0, 1])
        #expect(try log.trainingMetric(run: 3, name: "sft_loss").count == 1)
        #expect(sh.execute("plot compare run=1,2,3 eval_distinct2_greedy"), "\(sh.lastOutput)")
        // Each trained policy is kept and loads.
        #expect(sh.execute("model load runs/2/final"), "\(sh.lastOutput)")
        let md = try String(contentsOf: dir.appendingPathComponent("res/tiny-report.md"), encoding: .utf8)
        #expect(md.contains("1 seed(s) (1) × ppo, gtr, sft-only; 1 updates × 2 envs × 2 steps"), "\(md)")
    }

    @Test func badInputIsOneLine() {
        let dir = tempDir()
        let sh = makeShell(dir)
        for (cmd, msg) in [("experiment algos=ppo,bogus", "unknown algorithm 'bogus'"), ("experiment seeds=1,x", "'x' is not a seed"),
                           ("experiment seeds=2,2", "names a seed twice"), ("experiment eval_every=0", "eval_every= must be at least 1"),
                           ("experiment prefix=../x", "prefix=../x"), ("experiment parallel=9", "parallel"),
                           ("experiment updates=0", "updates")] {
            #expect(!sh.execute(cmd), "\(cmd) should fail")
            #expect(sh.lastOutput.contains(msg), "\(cmd): \(sh.lastOutput)")
            #expect(!sh.lastOutput.trimmingCharacters(in: .whitespacesAndNewlines).contains("\n"), "\(cmd): one line, got \(sh.lastOutput)")
        }
    }
}
