import Foundation
import Tensors
import Training

/// A collapse signal to watch: `train break when distinct2 < 0.3`.
struct Breakpoint: Equatable, CustomStringConvertible {
    var metric: String
    var op: String
    var value: Double
    var description: String { "\(metric) \(op) \(UpdateMetrics.format(value))" }
    func trips(_ m: UpdateMetrics) -> Bool {
        guard let v = m[metric] else { return false }
        return Condition.compare(String(v), op, String(value))
    }
}

/// One PPO-GTR run driven on its own thread while the prompt stays usable. The thread calls `Trainer.step()` until
/// the run ends or a pause is asked for, so a pause always lands on an environment-step boundary; checkpoints are
/// written at update boundaries. The shell reads the run only through `status()` and the notices, both under one lock;
/// the trainer itself is touched by the shell only while the thread is stopped.
final class TrainingRun: @unchecked Sendable {
    enum State: Equatable {
        case running, paused, finished, stopped
        case failed(String)
        var word: String {
            switch self {
            case .running: return "running"
            case .paused: return "paused"
            case .finished: return "finished"
            case .stopped: return "stopped"
            case .failed: return "failed"
            }
        }
    }

    struct Status {
        var state: State
        var update: Int
        var updates: Int
        var rolloutStep: Int
        var steps: Int
        var last: UpdateMetrics?
        var secondsPerUpdate: Double?
        var pauseRequested: Bool
    }

    let id: Int
    let dir: URL
    let trainer: Trainer
    let parent: (run: Int, update: Int)?
    /// Called on the run's thread after every update (the session log). While the thread runs, the shell reads the
    /// run only through `status()` (the last update's metrics are copied under the lock), never the trainer.
    var onUpdate: (UpdateMetrics) -> Void = { _ in }
    private let cond = NSCondition()
    private var state: State = .paused
    private var pauseRequested = false
    private var thread: Thread?
    private var breakpoints: [Breakpoint] = []
    private var notices: [String] = []
    private var updateStarted = Date()
    private var updateSeconds: [Double] = []
    private var lastMetrics: UpdateMetrics?
    private var rolloutStep = 0

    init(id: Int, dir: URL, trainer: Trainer, parent: (run: Int, update: Int)?) {
        self.id = id; self.dir = dir; self.trainer = trainer; self.parent = parent
        lastMetrics = trainer.history.last
        if trainer.isFinished { state = .finished }
    }

    func checkpointURL(_ update: Int) -> URL { dir.appendingPathComponent("update-\(update)") }

    /// Update numbers with a checkpoint in the run's directory.
    var checkpoints: [Int] { TrainingRun.checkpoints(in: dir) }

    static func checkpoints(in dir: URL) -> [Int] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        return names.compactMap { $0.hasPrefix("update-") ? Int($0.dropFirst(7)) : nil }
            .filter { FileManager.default.fileExists(atPath: dir.appendingPathComponent("update-\($0)/trainer.json").path) }.sorted()
    }

    // MARK: control (main thread)

    func start() {
        cond.lock()
        guard state != .running, state != .finished else { cond.unlock(); return }
        state = .running; pauseRequested = false; updateStarted = Date()
        cond.unlock()
        let t = Thread { [self] in loop() }
        t.name = "gtr-train-\(id)"
        t.stackSize = 16 << 20
        thread = t
        t.start()
    }

    /// Asks the run to stop at the next step boundary and waits until it has.
    func pause() {
        cond.lock()
        if state == .running { pauseRequested = true }
        while state == .running { cond.wait() }
        cond.unlock()
    }

    /// Pauses and marks the run stopped (it can still be resumed from a checkpoint in a later session).
    func stop() {
        pause()
        cond.lock()
        if state == .paused { state = .stopped }
        cond.unlock()
    }

    /// Blocks until the run is not running (ended, paused, tripped a breakpoint), or `interrupted()` says so
    /// (checked every 100 ms); `tick` is called on every wake with the status.
    func wait(interrupted: () -> Bool, tick: (Status) -> Void) -> Bool {
        while true {
            cond.lock()
            let running = state == .running
            if running { _ = cond.wait(until: Date().addingTimeInterval(0.1)) }
            let still = state == .running
            cond.unlock()
            tick(status())
            if !still { return true }
            if interrupted() { return false }
        }
    }

    func setBreakpoints(_ b: [Breakpoint]) { cond.lock(); breakpoints = b; cond.unlock() }
    var currentBreakpoints: [Breakpoint] { cond.lock(); defer { cond.unlock() }; return breakpoints }

    /// Messages from the run's thread (a tripped breakpoint, the end, a failure), each handed out once.
    func takeNotices() -> [String] {
        cond.lock(); defer { cond.unlock() }
        let n = notices; notices = []
        return n
    }

    func status() -> Status {
        cond.lock(); defer { cond.unlock() }
        let recent = updateSeconds.suffix(5)
        return Status(state: state, update: lastMetrics?.update ?? 0, updates: trainer.config.updates,
                      rolloutStep: rolloutStep, steps: trainer.config.steps, last: lastMetrics,
                      secondsPerUpdate: recent.isEmpty ? nil : recent.reduce(0, +) / Double(recent.count), pauseRequested: pauseRequested)
    }

    var isRunning: Bool { cond.lock(); defer { cond.unlock() }; return state == .running }
    var currentState: State { cond.lock(); defer { cond.unlock() }; return state }

    /// Saves update `trainer.completedUpdates`' checkpoint unless it exists (the run must be stopped at an update boundary).
    func checkpointIfNeeded() throws {
        guard trainer.atUpdateBoundary else { return }
        let url = checkpointURL(trainer.completedUpdates)
        if !FileManager.default.fileExists(atPath: url.appendingPathComponent("trainer.json").path) { try trainer.save(to: url) }
    }

    // MARK: the run's thread

    private func loop() {
        BLASRuntime.flushDenormals()
        while true {
            cond.lock()
            if pauseRequested { pauseRequested = false; state = .paused; cond.broadcast(); cond.unlock(); return }
            cond.unlock()
            do {
                let event = try trainer.step(shouldStop: { false })
                switch event {
                case let .envStep(_, step, _):
                    cond.lock(); rolloutStep = step; cond.unlock()
                case let .updated(m):
                    onUpdate(m)
                    let every = trainer.config.checkpointEvery
                    if trainer.isFinished || (every > 0 && m.update % every == 0) { try trainer.save(to: checkpointURL(m.update)) }
                    cond.lock()
                    updateSeconds.append(Date().timeIntervalSince(updateStarted)); updateStarted = Date()
                    lastMetrics = m; rolloutStep = 0
                    let tripped = breakpoints.filter { $0.trips(m) }
                    if !tripped.isEmpty {
                        pauseRequested = true
                        let what = tripped.map { "\($0.metric) = \(UpdateMetrics.format(m[$0.metric] ?? .nan)) (\($0))" }.joined(separator: ", ")
                        notices.append("run \(id) paused: breakpoint tripped at update \(m.update): \(what)")
                    }
                    cond.unlock()
                case .finished:
                    break
                }
                if trainer.isFinished {
                    cond.lock()
                    state = .finished
                    notices.append("run \(id) finished: \(trainer.completedUpdates) updates")
                    cond.broadcast(); cond.unlock()
                    return
                }
            } catch {
                cond.lock()
                state = .failed("\(error)")
                notices.append("run \(id) stopped by an error at update \(trainer.completedUpdates + 1): \(error)")
                cond.broadcast(); cond.unlock()
                return
            }
        }
    }
}
