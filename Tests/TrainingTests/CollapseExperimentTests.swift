import Agents
import Foundation
import Testing
import Tensors
@testable import Training

/// The collapse experiment end to end at a tiny budget: every algorithm × seed from the shipped SFT agent, exact
/// reruns, results independent of how many runs train at once, the tables, facts and plots.
@Suite(.serialized) struct CollapseExperimentTests {
    func tinyConfig(parallel: Int) -> ExperimentConfig {
        var e = ExperimentConfig()
        e.seeds = [1]
        e.parallel = parallel
        e.base.options = ["time_limit": "8"]
        e.base.env = "points24"
        e.base.updates = 2
        e.base.steps = 2
        e.base.envs = 2
        e.base.evalEvery = 1
        e.base.evalEpisodes = 2
        e.base.maxNewTokens = 80
        e.base.truncation = true
        return e
    }

    func initial() throws -> Policy {
        try PolicyRegistry.load(from: try #require(DefaultAgent.shipped, "the shipped default agent is part of the source tree"))
    }

    /// The results without wall times (`seconds`, `t_*`), which are all that may differ between reruns.
    func strip(_ r: ExperimentResult) -> [ExperimentCell] {
        r.cells.map { c in
            var c = c
            c.seconds = 0
            c.history = c.history.map { m in UpdateMetrics(update: m.update, values: m.values.filter { !$0.key.hasPrefix("t_") }) }
            return c
        }
    }

    @Test func runsEveryCellExactlyAndIndependentlyOfParallelism() throws {
        let threads = Parallel.threads
        let a = try CollapseExperiment.run(tinyConfig(parallel: 1), initial: try initial())
        let b = try CollapseExperiment.run(tinyConfig(parallel: 2), initial: try initial())
        #expect(Parallel.threads == threads, "the pool's thread count is restored")
        #expect(a.cells.count == 3 && a.cells.allSatisfy(\.complete))
        #expect(a.cells.map(\.algo) == [.ppo, .gtr, .sftOnly] && a.cells.map(\.seed) == [1, 1, 1])
        // Bitwise the same metrics whether runs train one or two at a time (and so on a rerun).
        #expect(strip(a) == strip(b))
        for c in a.cells {
            #expect(c.history.map(\.update) == [0, 1, 2])
            let f = try #require(c.finalEvaluation)
            #expect(f.update == 2)
            for k in ["eval_success_greedy", "eval_valid_greedy", "eval_legal_greedy", "eval_recognition_greedy", "eval_relevance_greedy",
                      "eval_distinct1_greedy", "eval_distinct2_greedy", "eval_self_bleu_greedy", "eval_thought_len_greedy"] {
                let v = try #require(f[k], "\(k) missing")
                #expect(v.isFinite && v >= 0)
            }
            let allFinite = f.values.values.allSatisfy { $0.isFinite }
            #expect(allFinite)
            // ppo has no corrector; the other two ask it.
            #expect((c.history[1]["corrector_calls"] == nil) == (c.algo == .ppo))
        }
        // Every run starts from the same initial policy: the greedy held-out evaluation before training agrees.
        let g0 = Set(a.cells.compactMap { $0.initialEvaluation?["eval_distinct2_greedy"] })
        #expect(g0.count == 1)

        let report = ExperimentReport(a)
        #expect(report.summaryTable.count == 2 + 1 + 3)
        #expect(report.summaryTable[2].hasPrefix("| initial (SFT) |"))
        #expect(report.perSeedTable.count == 2 + 3)
        #expect(report.facts.contains { $0.hasPrefix("collapse under ppo (distinct-2 down ≥ 50 %): ") })
        #expect(report.markdown.contains("## Final held-out evaluation"))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gtr-exp-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let files = try report.write(to: dir, prefix: "t")
        #expect(files.contains { $0.lastPathComponent == "t-report.md" } && files.contains { $0.lastPathComponent == "t-results.json" })
        let pngs = files.filter { $0.pathExtension == "png" }
        #expect(pngs.count == ExperimentReport.plotted.count)
        for p in pngs { #expect(try Data(contentsOf: p).starts(with: [0x89, 0x50, 0x4E, 0x47])) }
        // results.json reads back to the same result.
        let back = try JSONDecoder().decode(ExperimentResult.self, from: Data(contentsOf: dir.appendingPathComponent("t-results.json")))
        #expect(back == a)
    }

    @Test func meanStdAndChanges() throws {
        #expect(ExperimentReport.fmt([0.1, 0.3], percent: true) == "20.0 ± 14.1 %")
        #expect(ExperimentReport.fmt([2.0], percent: false) == "2.000")
        #expect(ExperimentReport.fmt([Double](), percent: false) == "–")
        var e = ExperimentConfig()
        e.algos = [.ppo]; e.seeds = [1, 2]
        func cell(_ seed: UInt64, _ d2: Double) -> ExperimentCell {
            ExperimentCell(algo: .ppo, seed: seed, history: [UpdateMetrics(update: 0, values: ["eval_success_greedy": 0.1, "eval_distinct2_greedy": 0.2]),
                                                             UpdateMetrics(update: 1, values: ["eval_success_greedy": 0, "eval_distinct2_greedy": d2, "train_return": -1])],
                           seconds: 1, complete: true)
        }
        let r = ExperimentReport(ExperimentResult(config: e, cells: [cell(1, 0.05), cell(2, 0.07)], seconds: 2, threads: 1))
        #expect(abs(try #require(r.change(.ppo, "eval_distinct2_greedy")) - -70) < 1e-9)
        #expect(r.facts.contains("collapse under ppo (distinct-2 down ≥ 50 %): yes (-70 %)"))
        let ys = r.curve(.ppo, "eval_distinct2_greedy").map(\.y)
        #expect(ys.count == 2 && abs(ys[0] - 0.2) < 1e-12 && abs(ys[1] - 0.06) < 1e-12)
    }

    @Test func badConfigurationsAreOneLine() {
        var e = ExperimentConfig(); e.algos = []
        #expect(throws: TrainerError.badConfig("algos= names no algorithm")) { try e.validate() }
        e = ExperimentConfig(); e.seeds = [1, 1]
        #expect(throws: TrainerError.badConfig("seeds= names a seed twice")) { try e.validate() }
        e = ExperimentConfig(); e.base.evalEvery = 0
        #expect(throws: TrainerError.self) { try e.validate() }
        e = ExperimentConfig(); e.parallel = 0
        #expect(throws: TrainerError.self) { try e.validate() }
    }
}
