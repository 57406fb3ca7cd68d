import CBLAS
import Foundation
import Synchronization

/// The tensor core's threads: a small fixed pool that runs the chunks of one kernel at a time, with the calling
/// thread taking chunks too. OpenBLAS is held at one thread of its own; GEMMs are split here instead (`Parallel`),
/// so BLAS threads and ours never oversubscribe the cores, and every thread doing tensor work has denormals
/// flushed (OpenBLAS's own workers do not).
///
/// Determinism rule: a kernel's result may depend on how it is cut into chunks, never on which thread runs a chunk
/// or in what order. Kernels that reduce across chunks cut by size, not by thread count, and combine partial
/// results in chunk order, so results are bitwise identical for a fixed seed at any thread count (tested).
///
/// Workers spin briefly after a job (kernels arrive microseconds apart during a training step), then sleep on a
/// condition variable. When a second thread dispatches while the pool is busy (a training run beside the shell),
/// its kernel runs inline on that thread: same chunks, same result.
public final class WorkerPool: @unchecked Sendable {
    public let threads: Int
    /// How long an idle worker spins before it sleeps (GTR_SPIN_US, default 2,000 µs): kernels of a training
    /// step arrive microseconds apart.
    static let spinNanoseconds: UInt64 = UInt64(ProcessInfo.processInfo.environment["GTR_SPIN_US"].flatMap { UInt64($0) } ?? 2_000) * 1_000
    /// The current job's ticket: generation (bits 40…63), chunk count (20…39), next unclaimed chunk (0…19). A
    /// chunk is claimed by a compare-exchange that also checks the generation, so a worker that woke late for an
    /// earlier job can never claim a chunk of the next one.
    private let ticket = Atomic<UInt64>(0)
    private let pending = Atomic<Int>(0)
    /// The generation workers wait for.
    private let published = Atomic<UInt64>(0)
    private let sleepers = Atomic<Int>(0)
    /// How often a worker went to sleep and how many chunks workers ran (diagnostics for `gtr-bench pool-check`).
    public let sleeps = Atomic<Int>(0)
    public let workerChunks = Atomic<Int>(0)
    public let sleptNs = Atomic<Int>(0)
    private let busy = Atomic<Bool>(false)
    /// The running job's body; only read by a thread holding a claimed chunk of it (so it is alive).
    private let body = UnsafeMutablePointer<(Int) -> Void>.allocate(capacity: 1)
    private let lock = NSCondition()
    private var generation: UInt64 = 0
    /// Set when the pool is replaced: its workers leave their loop at the next wake-up.
    private let retired = Atomic<Bool>(false)

    init(threads: Int) {
        self.threads = max(1, threads)
        for w in 1..<self.threads {
            let t = Thread { self.workerLoop() }  // a worker keeps its pool alive until retired
            t.name = "gtr-tensor-\(w)"
            t.stackSize = 1 << 20
            t.start()
        }
    }

    /// Claims and runs chunks of job `gen` until none is left.
    @discardableResult
    private func work(_ gen: UInt64) -> Int {
        var ran = 0
        while true {
            let cur = ticket.load(ordering: .acquiring)
            let chunks = (cur >> 20) & 0xFFFFF, next = cur & 0xFFFFF
            guard cur >> 40 == gen, next < chunks else { return ran }
            guard ticket.compareExchange(expected: cur, desired: cur + 1, ordering: .acquiringAndReleasing).exchanged else { continue }
            ran += 1
            let f = body.pointee
            f(Int(next))
            pending.subtract(1, ordering: .releasing)
        }
    }

    @inline(__always)
    static func monotonicNanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }

    private func workerLoop() {
        BLASRuntime.flushDenormals()
        var seen: UInt64 = 0
        while true {
            var spins = 0
            var since: UInt64 = 0
            while published.load(ordering: .sequentiallyConsistent) == seen {
                if retired.load(ordering: .acquiring) { return }
                spins += 1
                gtr_cpu_relax()
                if spins & 63 != 0 { continue }
                // spin for a fixed time, not a count (PAUSE takes 10 to 140 cycles depending on the core); the
                // clock must be fine-grained: DispatchTime on Linux ticks in jiffies, which put workers to sleep
                // after microseconds of spinning whenever a tick passed (measured: 2 threads slower than 1)
                let now = WorkerPool.monotonicNanoseconds()
                if since == 0 { since = now }
                if now - since < WorkerPool.spinNanoseconds { continue }
                lock.lock()
                sleeps.add(1, ordering: .relaxed)
                sleepers.add(1, ordering: .sequentiallyConsistent)
                let slept = WorkerPool.monotonicNanoseconds()
                while published.load(ordering: .sequentiallyConsistent) == seen && !retired.load(ordering: .acquiring) { lock.wait() }
                sleptNs.add(Int(WorkerPool.monotonicNanoseconds() - slept), ordering: .relaxed)
                sleepers.subtract(1, ordering: .sequentiallyConsistent)
                lock.unlock()
            }
            seen = published.load(ordering: .sequentiallyConsistent)
            workerChunks.add(work(seen), ordering: .relaxed)
        }
    }

    /// body(0..<count) over the pool, as `run`, with each chunk's result (or error) kept: the results in chunk
    /// order, or the error of the first chunk that threw.
    public func map<T>(_ count: Int, _ body: @escaping (Int) throws -> T) throws -> [T] {
        let slots = UnsafeMutablePointer<Result<T, Error>?>.allocate(capacity: Swift.max(count, 1))
        slots.initialize(repeating: nil, count: count)
        defer { slots.deinitialize(count: count); slots.deallocate() }
        // each chunk writes its own slot only
        nonisolated(unsafe) let out = slots
        run(chunks: count) { i in out[i] = Result { try body(i) } }
        return try (0..<count).map { try slots[$0]!.get() }
    }

    /// Lets the workers exit (the pool must be idle and not used again).
    func retire() {
        lock.lock(); retired.store(true, ordering: .releasing); lock.broadcast(); lock.unlock()
    }

    /// Runs body(0..<chunks) over the pool and returns when every chunk has finished. `body` must only write
    /// memory that belongs to its chunk.
    public func run(chunks: Int, _ f: @escaping (Int) -> Void) {
        if chunks <= 0 { return }
        if chunks == 1 || threads == 1 || chunks >= 1 << 20
            || !busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged {
            for i in 0..<chunks { f(i) }
            return
        }
        do {
            body.initialize(to: f)
            generation = (generation + 1) & 0xFFFFFF
            if generation == 0 { generation = 1 }
            pending.store(chunks, ordering: .relaxed)
            ticket.store(generation << 40 | UInt64(chunks) << 20, ordering: .releasing)
            published.store(generation, ordering: .sequentiallyConsistent)
            if sleepers.load(ordering: .sequentiallyConsistent) > 0 { lock.lock(); lock.broadcast(); lock.unlock() }
            work(generation)
            var spins = 0
            while pending.load(ordering: .acquiring) > 0 {
                spins += 1
                if spins < 100_000 { gtr_cpu_relax() } else { sched_yield() }
            }
            body.deinitialize(count: 1)
        }
        busy.store(false, ordering: .releasing)
    }
}

/// The process's pool and the split rules of the kernels that use it.
public enum Parallel {
    /// Thread count: `GTR_THREADS`, else `OPENBLAS_NUM_THREADS` (what older scripts set), else the number of online
    /// cores; never more than the cores (a spinning worker without a core of its own only slows the others).
    public static let configuredThreads: Int = {
        let env = ProcessInfo.processInfo.environment
        let cores = max(1, ProcessInfo.processInfo.activeProcessorCount)
        for key in ["GTR_THREADS", "OPENBLAS_NUM_THREADS"] {
            if let v = env[key], let n = Int(v.trimmingCharacters(in: .whitespaces)), n >= 1 { return min(n, cores) }
        }
        return cores
    }()

    nonisolated(unsafe) private static var _pool: WorkerPool?
    private static let poolLock = NSLock()

    /// The shared pool, started on first use (OpenBLAS is set to one thread then).
    public static var pool: WorkerPool {
        poolLock.lock(); defer { poolLock.unlock() }
        if let p = _pool { return p }
        openblas_set_num_threads(1)
        let p = WorkerPool(threads: configuredThreads)
        _pool = p
        return p
    }

    public static var threads: Int { pool.threads }

    /// Replaces the pool by one of `n` threads (tests compare thread counts; call between kernels only).
    public static func setThreads(_ n: Int) {
        poolLock.lock(); defer { poolLock.unlock() }
        _pool?.retire()
        openblas_set_num_threads(1)
        _pool = WorkerPool(threads: n)
    }

    /// Multiply-adds below which a kernel runs on the calling thread: handing a few microseconds of work to
    /// another thread costs about as much as it saves, and waits on a worker the OS has descheduled.
    public static let minimumParallelWork = 1 << 18

    /// body(0..<chunks) on the pool when `work` (about the kernel's multiply-adds) is worth it, else inline.
    @inline(__always)
    public static func run(chunks: Int, work: Int, _ body: @escaping (Int) -> Void) {
        if work < minimumParallelWork { for i in 0..<chunks { body(i) } } else { pool.run(chunks: chunks, body) }
    }

    /// body(range) over 0..<n cut into chunks of at least `grain` elements (at most 4 per thread). Use only for
    /// element-independent work: the cut depends on the thread count.
    @inline(__always)
    public static func forEach(_ n: Int, grain: Int, _ body: @escaping (Range<Int>) -> Void) {
        let p = pool
        let chunks = Swift.min(p.threads * 4, Swift.max(1, n / Swift.max(grain, 1)))
        if chunks <= 1 { if n > 0 { body(0..<n) }; return }
        p.run(chunks: chunks) { c in body((c * n / chunks)..<((c + 1) * n / chunks)) }
    }

    /// body(range) over 0..<n cut into fixed pieces of `piece` elements, independent of the thread count (for
    /// reductions whose partial results are combined in piece order).
    @inline(__always)
    public static func pieces(_ n: Int, piece: Int, _ body: @escaping (Int, Range<Int>) -> Void) {
        let count = (n + piece - 1) / piece
        pool.run(chunks: count) { c in body(c, (c * piece)..<Swift.min(n, (c + 1) * piece)) }
    }
}
