import Correctors
import Foundation

/// Where a rollout step was taken, for the corrector's ledger.
public struct CorrectionContext: Sendable {
    public var episode: Int
    public var t: Int
    public init(episode: Int, t: Int) { self.episode = episode; self.t = t }
}

/// Corrector bookkeeping of a run (per rollout the trainer logs the difference).
public struct CorrectionCounters: Sendable, Equatable, Codable {
    public var calls = 0
    public var cacheHits = 0
    public var failures = 0
    public var cost = 0.0
    public var seconds = 0.0
    public init() {}
}

/// The corrector as a trainer calls it: a batch of requests per environment step, answered concurrently where the
/// corrector allows (chat endpoints), with an answer cache. Failures never throw: the reply has verdict NONE and a
/// `failure`, and the step simply gets no label.
///
/// `lookup` and `record` connect it to a persistent cache and ledger (the shell's session log); without them it
/// caches in memory only.
public final class CorrectionService {
    public let corrector: Corrector
    public var name: String { corrector.name }
    /// Most requests in flight at once (chat correctors only; the oracle runs inline).
    public var maxConcurrent = 4
    /// A cached answer for a request hash (nil: not cached).
    public var lookup: ((String) -> CorrectorReply?)?
    /// Called for every answer (cached or not) with its request, hash and context, in request order.
    public var record: ((CorrectionRequest, CorrectorReply, String, CorrectionContext) -> Void)?
    public private(set) var counters = CorrectionCounters()
    private var memory: [String: CorrectorReply] = [:]

    public init(_ corrector: Corrector) { self.corrector = corrector }

    public func correct(_ requests: [CorrectionRequest], contexts: [CorrectionContext]) -> [CorrectorReply] {
        let started = Date()
        let hashes = requests.map { corrector.requestHash($0) }
        var replies = [CorrectorReply?](repeating: nil, count: requests.count)
        // The oracle is exact and cheap: it is asked every time (and a resumed run counts exactly as an unbroken one).
        let useCache = corrector.cacheable && !(corrector is OracleCorrector)
        for (i, h) in hashes.enumerated() where useCache {
            if var hit = memory[h] ?? lookup?(h) {
                hit.fromCache = true; hit.latency = 0; hit.cost = 0; hit.promptTokens = 0; hit.completionTokens = 0; hit.attempts = 0
                replies[i] = hit
            }
        }
        let missing = replies.indices.filter { replies[$0] == nil }
        let batch = ConcurrentAsk(corrector, missing.map { requests[$0] })
        batch.run(workers: missing.count > 1 && !(corrector is OracleCorrector) ? min(maxConcurrent, missing.count) : 1)
        for (j, i) in missing.enumerated() { replies[i] = batch.replies[j] }
        var out: [CorrectorReply] = []
        for i in requests.indices {
            let r = replies[i]!
            counters.calls += 1
            if r.fromCache { counters.cacheHits += 1 }
            if r.failure != nil { counters.failures += 1 }
            counters.cost += r.cost
            if r.failure == nil, useCache { memory[hashes[i]] = r }
            record?(requests[i], r, hashes[i], i < contexts.count ? contexts[i] : CorrectionContext(episode: 0, t: 0))
            out.append(r)
        }
        counters.seconds += Date().timeIntervalSince(started)
        return out
    }
}

/// One batch of corrector calls spread over `workers` threads; each reply goes to its own slot.
private final class ConcurrentAsk: @unchecked Sendable {
    let corrector: Corrector
    let requests: [CorrectionRequest]
    private(set) var replies: [CorrectorReply?]
    private let lock = NSLock()
    init(_ corrector: Corrector, _ requests: [CorrectionRequest]) {
        self.corrector = corrector; self.requests = requests; replies = .init(repeating: nil, count: requests.count)
    }

    func run(workers: Int) {
        guard workers > 1 else { for j in requests.indices { replies[j] = ask(requests[j]) }; return }
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            var j = w
            while j < requests.count {
                let r = ask(requests[j])
                lock.lock(); replies[j] = r; lock.unlock()
                j += workers
            }
        }
    }

    private func ask(_ r: CorrectionRequest) -> CorrectorReply {
        do { return try corrector.correct(r) } catch {
            var failed = CorrectorReply(corrector: corrector.name)
            failed.failure = "\(error)"
            return failed
        }
    }
}
