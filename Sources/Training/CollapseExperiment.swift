import Agents
import Correctors
import Foundation
import Tensors

/// The thought-collapse experiment (GTR §7–8 on a laptop): the same SFT initialisation trained with every algorithm
/// and seed under one budget, each run evaluated on a fixed held-out set before training and every `evalEvery`
/// updates (no truncation, no corrector).
public struct ExperimentConfig: Sendable, Codable, Equatable {
    public var algos: [TrainingAlgorithm] = [.ppo, .gtr, .sftOnly]
    public var seeds: [UInt64] = [1, 2, 3]
    /// Everything but `algo` and `seed` of every run.
    public var base = TrainerConfig()
    /// Runs trained at once, each on its own thread with the tensor core's pool at one thread (results do not
    /// depend on the thread count; `ParallelTests`).
    public var parallel = 1
    /// Where the initialisation came from (a path or "default"), for the report.
    public var initialisation = "default"

    public init() {}

    public func validate() throws {
        if algos.isEmpty { throw TrainerError.badConfig("algos= names no algorithm") }
        if seeds.isEmpty { throw TrainerError.badConfig("seeds= names no seed") }
        if Set(algos).count != algos.count { throw TrainerError.badConfig("algos= names an algorithm twice") }
        if Set(seeds).count != seeds.count { throw TrainerError.badConfig("seeds= names a seed twice") }
        if parallel < 1 || parallel > 8 { throw TrainerError.badConfig("parallel= must be between 1 and 8") }
        if base.evalEvery < 1 { throw TrainerError.badConfig("the experiment evaluates the held-out set: eval_every= must be at least 1") }
        try base.validate()
    }

    /// The runs in the order they are started: seed-major, so stopping early leaves whole seeds.
    public var cells: [(algo: TrainingAlgorithm, seed: UInt64)] {
        seeds.flatMap { s in algos.map { (algo: $0, seed: s) } }
    }

    public func trainerConfig(algo: TrainingAlgorithm, seed: UInt64) -> TrainerConfig {
        var c = base
        c.algo = algo
        c.seed = seed
        c.checkpointEvery = 0
        return c
    }
}

/// One run of the experiment: its metrics from update 0 (the held-out evaluation before training) to the end.
public struct ExperimentCell: Sendable, Codable, Equatable {
    public var algo: TrainingAlgorithm
    public var seed: UInt64
    public var history: [UpdateMetrics]
    public var seconds: Double
    /// False when the run was stopped before its last update.
    public var complete: Bool

    /// The last update that has held-out metrics.
    public var finalEvaluation: UpdateMetrics? { history.last { $0["eval_success_greedy"] != nil } }
    public var initialEvaluation: UpdateMetrics? { history.first { $0.update == 0 } }
}

public struct ExperimentResult: Sendable, Codable, Equatable {
    public var config: ExperimentConfig
    public var cells: [ExperimentCell]
    public var seconds: Double
    public var threads: Int
}

public enum CollapseExperiment {
    /// What a caller hears while the experiment runs.
    public enum Event: Sendable {
        case started(cell: Int, algo: TrainingAlgorithm, seed: UInt64)
        case updated(cell: Int, metrics: UpdateMetrics)
        case finished(cell: Int, seconds: Double)
    }

    /// Trains every (algo, seed) from a copy of `initial`. `corrections(algo)` gives each run its own correction
    /// service (nil: the oracle); `saveFinalModel(i)` says where run i's trained policy goes (nil: nowhere). Runs are independent: a run's metrics do not depend on `parallel` or on the others.
    public static func run(_ config: ExperimentConfig, initial: Policy,
                           corrections: @escaping @Sendable (TrainingAlgorithm) throws -> CorrectionService? = { _ in nil },
                           onEvent: @escaping @Sendable (Event) -> Void = { _ in },
                           saveFinalModel: @escaping @Sendable (Int) -> URL? = { _ in nil },
                           shouldStop: @escaping @Sendable () -> Bool = { false }) throws -> ExperimentResult {
        try config.validate()
        let cells = config.cells
        let start = Date()
        let state = SharedState(count: cells.count)
        let threadsBefore = Parallel.threads
        let width = min(config.parallel, cells.count)
        if width > 1 { Parallel.setThreads(1) }
        defer { if width > 1 { Parallel.setThreads(threadsBefore) } }
        // Each model copy is made up front, on this thread: the copies share nothing afterwards.
        // Each run owns its model and service; no two threads touch the same one.
        nonisolated(unsafe) let models = try cells.map { _ in try PolicyRegistry.trainableCopy(of: initial) }
        nonisolated(unsafe) let services = try cells.map { try corrections($0.algo) }
        DispatchQueue.concurrentPerform(iterations: width) { _ in
            while let i = state.claim() {
                if shouldStop() || state.failed { return }
                let (algo, seed) = cells[i]
                onEvent(.started(cell: i, algo: algo, seed: seed))
                let t0 = Date()
                do {
                    let trainer = try Trainer(config: config.trainerConfig(algo: algo, seed: seed), model: models[i], corrections: services[i])
                    var history: [UpdateMetrics] = []
                    if let m0 = try trainer.initialEvaluation() { history.append(m0); onEvent(.updated(cell: i, metrics: m0)) }
                    while !trainer.isFinished && !shouldStop() {
                        if case let .updated(m) = try trainer.step(shouldStop: shouldStop) { history.append(m); onEvent(.updated(cell: i, metrics: m)) }
                    }
                    // The trained policy, for `model load` and `eval` afterwards.
                    if let dir = saveFinalModel(i) { try trainer.model.save(to: dir) }
                    let seconds = Date().timeIntervalSince(t0)
                    state.store(i, ExperimentCell(algo: algo, seed: seed, history: history, seconds: seconds, complete: trainer.isFinished))
                    onEvent(.finished(cell: i, seconds: seconds))
                } catch {
                    state.fail(error)
                    return
                }
            }
        }
        if let e = state.error { throw e }
        return ExperimentResult(config: config, cells: state.results.compactMap { $0 }, seconds: Date().timeIntervalSince(start),
                                threads: width > 1 ? width : threadsBefore)
    }

    /// The work queue and results of the runs, shared by the experiment's threads.
    final class SharedState: @unchecked Sendable {
        private let lock = NSLock()
        private var next = 0
        private let count: Int
        private(set) var results: [ExperimentCell?]
        private(set) var error: Error?
        init(count: Int) { self.count = count; results = .init(repeating: nil, count: count) }
        var failed: Bool { lock.lock(); defer { lock.unlock() }; return error != nil }
        func claim() -> Int? {
            lock.lock(); defer { lock.unlock() }
            guard next < count else { return nil }
            next += 1
            return next - 1
        }
        func store(_ i: Int, _ c: ExperimentCell) { lock.lock(); results[i] = c; lock.unlock() }
        func fail(_ e: Error) { lock.lock(); if error == nil { error = e }; lock.unlock() }
    }
}
