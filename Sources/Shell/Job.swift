import Foundation
import Synchronization

/// Cancels one job. Ctrl-C cancels the job running in the foreground; a job can also be cancelled by its owner
/// (a later `train pause`), without touching any other job.
public final class CancellationToken: Sendable {
    private let flag = Atomic<Bool>(false)
    /// True while this job is the one in front of the user (Ctrl-C is meant for it).
    let foreground: Bool
    init(foreground: Bool) { self.foreground = foreground }

    public func cancel() { flag.store(true, ordering: .relaxed) }
    /// Polled by the job between units of work (a batch, an episode, an optimizer step).
    public var isCancelled: Bool {
        if flag.load(ordering: .relaxed) { return true }
        if foreground, Interrupt.pending { Interrupt.clear(); cancel(); return true }
        return false
    }
}

/// What a job reports while it runs: progress, a line of text, its end.
enum JobEvent {
    case progress(done: Int, total: Int, detail: String)
    case message(String)
    case finished(cancelled: Bool)
}

/// A long command (`sft`, `eval`, `auto`, next `train`): its own cancellation token and a stream of events that
/// the shell renders (a progress bar on a terminal, every 10 % in logs). The job's code never prints and never
/// reads the global interrupt flag.
final class Job {
    let name: String
    let token: CancellationToken
    private let render: (JobEvent) -> Void
    private(set) var events: [JobEvent] = []

    init(name: String, token: CancellationToken, render: @escaping (JobEvent) -> Void) {
        self.name = name; self.token = token; self.render = render
    }

    func emit(_ e: JobEvent) {
        if case .progress = e {} else { events.append(e) }
        render(e)
    }

    var isCancelled: Bool { token.isCancelled }
}

extension Shell {
    /// Runs `body` as a foreground job: Ctrl-C cancels it (the job stops at its next check and keeps what it has),
    /// progress is drawn as a bar that ends its own line.
    func runJob<T>(_ name: String, total: Int, _ body: (Job) throws -> T) rethrows -> T {
        var bar = progressBar(total: total, label: name)
        let job = Job(name: name, token: CancellationToken(foreground: true)) { [weak self] e in
            switch e {
            case let .progress(done, _, detail): bar.update(done, detail)
            case let .message(m): self?.out(m)
            case .finished: bar.finish()
            }
        }
        defer { job.emit(.finished(cancelled: job.token.isCancelled)) }
        return try body(job)
    }
}
