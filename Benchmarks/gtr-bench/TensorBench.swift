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
