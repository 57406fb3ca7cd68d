import CBLAS
import Foundation
import Tensors

/// The issue-4 training-step model: GPT-2 style, d_model 128, 4 layers, 4 heads, T 256, B 8, V 128.
/// scripts/peer_train_step.py builds the identical model in PyTorch.
enum TensorBench {
    static let config: TransformerConfig = TransformerConfig(vocabSize: 128, dModel: 128, layers: 4, heads: 4, maxSequence: 256)

    static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

    /// CPU seconds of this process (all threads): on this shared machine a steadier measure than wall time while
    /// other processes run, and, divided by wall time, how many cores a step really kept busy.
    static func processCPU() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// Peak resident set of this process's own address space (`VmHWM`). `getrusage`'s `ru_maxrss` survives
    /// `execve`, so a child spawned by the bench reported the bench parent's peak (every child read 642 MB).
    static func peakRSSMB() -> Double {
        if let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
           let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
           let kb = Double(line.split(separator: " ").dropFirst().first ?? "") {
            return kb / 1024
        }
        var u = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &u)
        return Double(u.ru_maxrss) / 1024
    }

    /// The benchmark's model and one training step of it (forward, backward, AdamW) on fixed random tokens;
    /// `OpProfile.mark()` starts each step's forward clock (a no-op branch when the profiler is off).
    static func makeStep() -> (model: DecoderTransformer, step: () -> Void) {
        let m = DecoderTransformer(config, seed: 0)
        let opt = Adam.adamW(m.namedParameters(), learningRate: 1e-3, weightDecay: 0.01)
        var rng = TensorRNG(seed: 1)
        let ids = (0..<(8 * 256)).map { _ in Int(rng.next() % 128) }
        let targets = (0..<(8 * 256)).map { _ in Int(rng.next() % 128) }
        return (m, {
            m.zeroGrad()
            if OpProfile.enabled { OpProfile.mark() }
            let loss = m(ids, batch: 8).crossEntropy(targets: targets)
            loss.backward()
            opt.step()
        })
    }

    /// Median ms per step (forward, backward, AdamW) after 3 warm-up steps; run in a child process so the
    /// peak RSS belongs to this step alone.
    static func trainStep(steps: Int) -> [String: Double] {
        let (m, step) = makeStep()
        for _ in 0..<3 { step() }
        var times: [Double] = [], cpu: [Double] = []
        for _ in 0..<steps {
            let t = now(), c = processCPU()
            step()
            times.append(now() - t); cpu.append(processCPU() - c)
        }
        times.sort(); cpu.sort()
        return ["ms": times[times.count / 2] * 1000, "cpu_ms": cpu[cpu.count / 2] * 1000, "peak_rss_mb": peakRSSMB(),
                "params": Double(m.parameterCount)]
    }

    /// The 2-thread speed-up of the same step measured in one process: `pairs` rounds of 1 thread then 2 threads,
    /// each after one untimed step on its fresh pool (a new worker starts on its caller's core), two timed steps
    /// each, so the two halves of a pair are a second apart and share the host's load. Separate processes minutes
    /// apart on this shared machine compare two different machines; this compares the thread counts.
    static func trainStepScaling(pairs: Int) -> [String: Double] {
        let (_, step) = makeStep()
        Parallel.setThreads(2)
        for _ in 0..<3 { step() }
        var ratios: [Double] = [], one: [Double] = [], two: [Double] = []
        func timed(_ threads: Int) -> Double {
            Parallel.setThreads(threads)
            step()
            let t = now()
            step(); step()
            return (now() - t) / 2
        }
        for _ in 0..<pairs {
            let a = timed(1), b = timed(2)
            ratios.append(a / b); one.append(a); two.append(b)
        }
        ratios.sort(); one.sort(); two.sort()
        return ["median": ratios[pairs / 2], "lo": ratios[0], "hi": ratios[pairs - 1], "pairs": Double(pairs),
                "ms1": one[pairs / 2] * 1000, "ms2": two[pairs / 2] * 1000]
    }

    /// µs per decoding-step attention call, q: (B, 4, 1, 32) against a (B, 4, S, 32) cache view of capacity 256:
    /// hot (the same cache every call) and cold (cycling through 16 caches, 24 MB at batch 8, as a decoding step
    /// meets its layers' caches after the rest of the model has passed through the caches), with the K and V bytes
    /// a call reads.
    static func decodeAttention() -> [(batch: Int, keys: Int, hot: Double, cold: Double, bytes: Double)] {
        var rng = TensorRNG(seed: 5)
        return [(1, 180), (8, 180), (8, 60)].map { (b, s) in
            let caches = (0..<16).map { _ in (Tensor<Float>.randn([b, 4, 256, 32], rng: &rng), Tensor<Float>.randn([b, 4, 256, 32], rng: &rng)) }
            let q = Tensor<Float>.randn([b, 4, 1, 32], rng: &rng)
            let reps = 4000
            func run(_ pick: (Int) -> Int) -> Double {
                Autograd.noGrad { () -> Double in
                    let t = now()
                    for i in 0..<reps {
                        let (k, v) = caches[pick(i)]
                        _ = Tensor.attention(q: q, k: k.slice(axis: 2, 0, s), v: v.slice(axis: 2, 0, s), causal: true)
                    }
                    return (now() - t) / Double(reps) * 1e6
                }
            }
            let hot = run { _ in 0 }, cold = run { $0 % 16 }
            return (b, s, hot, cold, Double(2 * b * 4 * s * 32 * 4))
        }
    }

    /// The same step with `OpProfile` on: where the time and the allocations go, op by op (`gtr-bench profile`).
    static func profile(steps: Int) -> String {
        let (_, step) = makeStep()
        for _ in 0..<3 { step() }
        OpProfile.enabled = true
        OpProfile.reset()
        let t = now()
        for _ in 0..<steps { step() }
        let wall = (now() - t) / Double(steps) * 1000
        return OpProfile.table(steps: steps)
            + String(format: "\nwall %.1f ms/step with the profiler on (%d thread(s)); peak live tensor memory %.1f MB; peak RSS %.1f MB\n",
                     wall, Parallel.threads, Double(OpProfile.peakLiveBytes) / 1_048_576, peakRSSMB())
    }

    /// GFLOP/s of n×n×n sgemm: through `Tensor.matmul` (no graph) and as raw cblas_sgemm on the same buffers.
    static func sgemm(_ n: Int) -> (tensor: Double, raw: Double) {
        var rng = TensorRNG(seed: UInt64(n))
        let a = Tensor<Float>.randn([n, n], rng: &rng), b = Tensor<Float>.randn([n, n], rng: &rng)
        let c = Tensor<Float>.zeros([n, n])
        let flops = 2 * Double(n) * Double(n) * Double(n)
        let reps = max(3, Int(2e9 / flops))
        func best(_ body: () -> Void) -> Double {
            body()
            var b = Double.infinity
            for _ in 0..<3 { let t = now(); for _ in 0..<reps { body() }; b = min(b, (now() - t) / Double(reps)) }
            return flops / b / 1e9
        }
        let raw = best {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(n), Int32(n), Int32(n), 1, a.pointer, Int32(n),
                        b.pointer, Int32(n), 0, c.pointer, Int32(n))
        }
        let viaTensor = Autograd.noGrad { best { _ = a.matmul(b) } }  // inference runs inside one no-grad scope
        return (viaTensor, raw)
    }

    /// Vectorisation evidence: the SIMD kernels against plain scalar loops of the same operation.
    /// A strict-order float sum cannot be auto-vectorised (reassociation is not allowed), and libm's expf is
    /// scalar, so each ratio is what SIMD buys.
    static func kernels() -> [(String, Double, Double)] {
        let n = 1 << 14
        var rng = TensorRNG(seed: 5)
        let x = (0..<n).map { _ in Float(rng.unit() * 20 - 10) }
        var y = [Float](repeating: 0, count: n)
        func rate(_ body: () -> Void) -> Double {
            body()
            let reps = 2000
            let t = now(); for _ in 0..<reps { body() }
            return Double(n) * Double(reps) / (now() - t) / 1e9
        }
        var sink: Float = 0
        var k = 0  // a different start each repetition, so the optimiser cannot hoist the sum out of the loop
        let simdSum = x.withUnsafeBufferPointer { p in rate { k = (k + 1) & 7; sink += SIMDMath.sum(p.baseAddress! + k, n - 8) } }
        let scalarSum = x.withUnsafeBufferPointer { p in rate { k = (k + 1) & 7; var s: Float = 0; for i in k..<(n - 8 + k) { s += p[i] }; sink += s } }
        let simdExp = x.withUnsafeBufferPointer { p in y.withUnsafeMutableBufferPointer { q in rate { SIMDMath.exp(p.baseAddress!, q.baseAddress!, n) } } }
        let scalarExp = x.withUnsafeBufferPointer { p in y.withUnsafeMutableBufferPointer { q in rate { for i in 0..<n { q[i] = Foundation.exp(p[i]) } } } }
        if sink == 42 { print("") }
        return [("sum (Gelem/s)", simdSum, scalarSum), ("exp (Gelem/s)", simdExp, scalarExp)]
    }
}
