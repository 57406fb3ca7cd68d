import Agents
import Foundation
import Support
import Training

/// `experiment`: the thought-collapse experiment in one command (issue 15): every algorithm and seed from one SFT
/// initialisation under one budget, then the side-by-side table, the collapse facts, and a report with PNG plots.
extension Shell {
    /// `train start` options the experiment shares (the run's budget and settings), besides its own.
    static let experimentSharedOptions: Set<String> = [
        "env", "updates", "steps", "envs", "lambda", "lr", "corrector", "eval_every", "eval_episodes", "truncation", "temperature",
        "max_tokens", "epochs", "minibatch", "accumulation", "sft_weight", "anneal", "mask", "ratio_guard", "entropy_coef", "kl_coef",
        "env_options", "model",
    ]

    static let experimentCommand = CommandSpec(
        name: "experiment", group: "training",
        summary: "the thought-collapse experiment: every algorithm × seed from one initialisation, then a table, facts and plots",
        example: "experiment algos=ppo,gtr,sft-only seeds=1,2,3 updates=20 eval_every=2 parallel=2 out=docs/collapse",
        positionals: [],
        options: [
            OptionSpec("algos", .text, default: "ppo,gtr,sft-only", "algorithms, comma-separated"),
            OptionSpec("seeds", .text, default: "1,2,3", "seeds, comma-separated (each algorithm runs every seed)"),
            OptionSpec("parallel", .int(1...8), default: "1", "runs trained at once (each on one thread)"),
            OptionSpec("eval_seed", .seed, default: String(TrainerConfig().evalSeed), "first seed of the held-out set"),
            OptionSpec("out", .path, "directory for the report, results.json and the plots"),
            OptionSpec("prefix", .text, default: "collapse", "file name prefix of what out= receives"),
        ] + Shell.trainCommand.options.filter { Shell.experimentSharedOptions.contains($0.key) },
        volatile: true) { sh, a in
        try sh.experimentCommand(a)
    }

    func experimentCommand(_ a: Arguments) throws {
        if let r = training, r.currentState == .running {
            throw CommandError("run \(r.id) is training: train pause or train stop first (both would share the cores)")
        }
        var e = ExperimentConfig()
        e.base = try trainerConfig(a)
        if let v = a.seed("eval_seed") { e.base.evalSeed = v }
        e.algos = try (a.string("algos") ?? "ppo,gtr,sft-only").split(separator: ",").map { w in
            guard let algo = TrainingAlgorithm(rawValue: String(w)) else {
                throw CommandError("algos=: unknown algorithm '\(w)' (\(TrainingAlgorithm.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            return algo
        }
        e.seeds = try (a.string("seeds") ?? "1,2,3").split(separator: ",").map { w in
            guard let s = UInt64(w) else { throw CommandError("seeds=: '\(w)' is not a seed (a non-negative integer)") }
            return s
        }
        e.parallel = a.int("parallel") ?? 1
        do { try e.validate() } catch let err as TrainerError { throw CommandError(err.description) }
        let prefix = a.string("prefix") ?? "collapse"
        guard !prefix.isEmpty, prefix.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) else {
            throw CommandError("prefix=\(prefix): letters, digits, - and _ only")
        }
        let source: Policy
        if let dir = a.string("model") { source = try PolicyRegistry.load(from: resolve(dir)); e.initialisation = dir } else {
            source = try requireModel(); e.initialisation = agent.source
        }
        // Each run gets its own correction service (its own cache and counters), made here from the shell's correctors.
        var services: [TrainingAlgorithm: [CorrectionService?]] = [:]
        for algo in e.algos {
            services[algo] = try e.seeds.map { s in try trainingCorrections(e.trainerConfig(algo: algo, seed: s)) }
        }
        let box = ServiceBox(services)
        let b = e.base
        out("experiment: \(e.algos.map(\.rawValue).joined(separator: ", ")) × seeds \(e.seeds.map(String.init).joined(separator: ", ")) on \(b.env) "
            + "from \(e.initialisation); \(b.updates) updates × \(b.envs) envs × \(b.steps) steps each, held-out \(b.evalEpisodes) episodes "
            + "every \(b.evalEvery) update(s); \(e.parallel) run(s) at once")
        let cells = e.cells
        // Each run gets a run id (its directory under runs/ reserves it) and logs its metrics like a `train` run, so
        // `plot compare run=…` and `sql` reach them.
        var runIDs: [Int] = []
        for (algo, seed) in cells {
            let id = nextRunID()
            let dir = runsDirectory.appendingPathComponent(String(id))
            do {
                try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
                try Data("experiment run: \(algo.rawValue) seed \(seed)\n".utf8).write(to: dir.appendingPathComponent("experiment.txt"))
            } catch { throw CommandError("cannot reserve a run directory in \(runsDirectory.path): \(fileProblem(dir, error))") }
            let configText = (try? String(decoding: JSONEncoder().encode(e.trainerConfig(algo: algo, seed: seed)), as: UTF8.self)) ?? "{}"
            log?.logTrainingRun(id, parent: nil, algo: algo.rawValue, env: b.env, config: configText, dir: dir.path)
            runIDs.append(id)
        }
        out("runs \(runIDs.first!)…\(runIDs.last!) in the session log, each trained policy in \(runsDirectory.path)/<run>/final: " + zip(cells, runIDs).map { "\($0.1) \($0.0.algo.rawValue)/\($0.0.seed)" }.joined(separator: ", "))
        let log = self.log, ids = runIDs, dirs = runIDs.map { runsDirectory.appendingPathComponent(String($0)) }
        let total = cells.count * b.updates
        let printLock = NSLock()
        let result = try runJob("experiment", total: total) { job -> ExperimentResult in
            nonisolated(unsafe) let job = job
            nonisolated(unsafe) var done = 0
            return try CollapseExperiment.run(e, initial: source, corrections: { algo in try box.take(algo) }, onEvent: { ev in
                printLock.lock(); defer { printLock.unlock() }
                switch ev {
                case let .started(i, algo, seed): job.emit(.message("run \(i + 1)/\(cells.count): \(algo.rawValue) seed \(seed)"))
                case let .updated(i, m):
                    log?.logTrainingMetrics(run: ids[i], update: m.update, values: m.values)
                    if m.update > 0 { done += 1 }
                    let cell = cells[i]
                    let keys = ["eval_success_greedy", "eval_distinct2_greedy", "eval_relevance_greedy", "valid", "distinct2", "train_return"]
                    let line = keys.compactMap { k in m[k].map { "\(k) \(UpdateMetrics.format($0))" } }.joined(separator: "  ")
                    job.emit(.message("  \(cell.algo.rawValue) seed \(cell.seed) update \(m.update): \(line)"))
                    job.emit(.progress(done: done, total: total, detail: "\(cell.algo.rawValue) seed \(cell.seed)"))
                case let .finished(i, seconds):
                    job.emit(.message(String(format: "  %@ seed %llu finished in %.1f min", cells[i].algo.rawValue, cells[i].seed, seconds / 60)))
                }
            }, saveFinalModel: { i in dirs[i].appendingPathComponent("final") }, shouldStop: { job.token.isCancelled })
        }
        let report = ExperimentReport(result)
        out("")
        for l in report.summaryTable { out(l) }
        out("")
        if !report.taskTypeTable.isEmpty { for l in report.taskTypeTable { out(l) }; out("") }
        for l in report.perSeedTable { out(l) }
        out("")
        for l in report.facts { out("- " + l) }
        out(String(format: "wall time %.1f min", result.seconds / 60))
        publishExperimentVariables(report)
        if let dir = a.string("out") {
            let url = resolve(dir)
            do {
                let files = try report.write(to: url, prefix: prefix)
                out("wrote \(files.count) files to \(url.path) (\(prefix)-report.md, \(prefix)-results.json, plots)")
            } catch { throw CommandError("cannot write the report to \(url.path): \(fileProblem(url, error))") }
        }
    }

    /// `$experiment_<algo>_<metric>`: mean over seeds of each final held-out metric (algo with - as _), and
    /// `$experiment_runs` (complete runs) for scripts' `expect`.
    func publishExperimentVariables(_ r: ExperimentReport) {
        for k in variables.keys where k.hasPrefix("experiment_") { variables.removeValue(forKey: k) }
        variables["experiment_runs"] = String(r.result.cells.filter(\.complete).count)
        for algo in r.result.config.algos {
            let name = algo.rawValue.replacingOccurrences(of: "-", with: "_")
            for c in ExperimentReport.columns {
                let vs = r.finals(algo, c.metric)
                guard !vs.isEmpty else { continue }
                variables["experiment_\(name)_\(c.metric.replacingOccurrences(of: "eval_", with: ""))"] = UpdateMetrics.format(vs.reduce(0, +) / Double(vs.count))
            }
        }
        if let i = r.initial {
            for c in ExperimentReport.columns { if let v = i[c.metric] { variables["experiment_initial_\(c.metric.replacingOccurrences(of: "eval_", with: ""))"] = UpdateMetrics.format(v) } }
        }
    }
}

/// Hands each run its own pre-made correction service, in seed order per algorithm.
final class ServiceBox: @unchecked Sendable {
    private let lock = NSLock()
    private var services: [TrainingAlgorithm: [CorrectionService?]]
    init(_ s: [TrainingAlgorithm: [CorrectionService?]]) { services = s }
    func take(_ algo: TrainingAlgorithm) throws -> CorrectionService? {
        lock.lock(); defer { lock.unlock() }
        guard var list = services[algo], !list.isEmpty else { return nil }
        let s = list.removeFirst()
        services[algo] = list
        return s
    }
}
