import CBLAS
import Foundation

/// OpenBLAS as this process loaded it: which kernel core it picked and how many threads it uses.
///
/// Debian's OpenBLAS 0.3.21 misdetects recent Xeons as "Prescott" (OpenBLAS #4267) and then runs sgemm 4-5x
/// slower. The core is chosen in a library constructor before `main`, from `OPENBLAS_CORETYPE`, so the only fix
/// from inside the program is to set the variable and re-execute itself: `ensureOptimalCore` does that once.
public enum BLASRuntime {
    /// The kernel core OpenBLAS selected, e.g. "Haswell", "SkylakeX", "Prescott".
    public static var coreName: String {
        guard let p = openblas_get_corename() else { return "unknown" }
        return String(cString: p).trimmingCharacters(in: .whitespaces)
    }

    /// Threads doing tensor work: the worker pool's (OpenBLAS itself runs single-threaded inside each of them).
    public static var threads: Int { Parallel.threads }

    /// Generic fallback cores that mean detection failed on a modern CPU.
    static let genericCores: Set<String> = ["prescott", "core2", "katmai", "coppermine", "northwood", "banias", "atom", "nehalem"]

    /// The best core this CPU supports according to /proc/cpuinfo flags, or nil when nothing better is known.
    public static func bestCore(cpuFlags: Set<String>) -> String? {
        if cpuFlags.contains("avx512f") && cpuFlags.contains("avx512bw") && cpuFlags.contains("avx512vl") {
            return cpuFlags.contains("avx512_bf16") ? "Cooperlake" : "SkylakeX"
        }
        if cpuFlags.contains("avx2") && cpuFlags.contains("fma") { return "Haswell" }
        return nil
    }

    public static func cpuFlags() -> Set<String> {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return [] }
        for line in text.split(separator: "\n") where line.hasPrefix("flags") {
            if let colon = line.firstIndex(of: ":") { return Set(line[line.index(after: colon)...].split(separator: " ").map(String.init)) }
        }
        return []
    }

    /// What the core-type check decided, for `status` and `--version`.
    public static var coreNote: String {
        if let why = ProcessInfo.processInfo.environment["GTR_BLAS_REEXEC"] { return "re-executed with OPENBLAS_CORETYPE (was \(why))" }
        if ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] != nil { return "OPENBLAS_CORETYPE set by the caller" }
        return "detected by OpenBLAS"
    }

    /// If OpenBLAS fell back to a generic core and the caller did not choose one, sets `OPENBLAS_CORETYPE` to
    /// the best supported core and re-executes this program with the same arguments. Returns only when no
    /// re-exec is needed or possible (set `GTR_NO_REEXEC=1` to disable).
    /// Flush-to-zero / denormals-are-zero on the calling thread (each thread that does tensor work calls it; the
    /// process's main thread does in `ensureOptimalCore`). Subnormal floats cost a microcode assist per operation on
    /// Intel cores; results change only below 1.2e-38.
    public static func flushDenormals() { gtr_flush_denormals() }
    public static var denormalsFlushed: Bool { gtr_denormals_flushed() != 0 }

    /// True when the tensor core was compiled for AVX2 + FMA (Package.swift builds it so on machines that have them).
    #if GTR_AVX2
    public static let compiledForAVX2 = true
    #else
    public static let compiledForAVX2 = false
    #endif

    /// One line for a binary built for AVX2 that runs on a CPU without it (checked before any tensor code runs).
    public static var vectorUnitProblem: String? {
        compiledForAVX2 && gtr_cpu_has_avx2_fma() == 0
            ? "gtr: this build uses AVX2 and FMA, which this CPU lacks; rebuild here (or with GTR_PORTABLE=1 swift build)" : nil
    }

    public static func ensureOptimalCore() {
        flushDenormals()
        let env = ProcessInfo.processInfo.environment
        guard env["OPENBLAS_CORETYPE"] == nil, env["GTR_BLAS_REEXEC"] == nil, env["GTR_NO_REEXEC"] == nil else { return }
        let current = coreName
        guard genericCores.contains(current.lowercased()), let best = bestCore(cpuFlags: cpuFlags()) else { return }
        setenv("OPENBLAS_CORETYPE", best, 1)
        setenv("GTR_BLAS_REEXEC", current, 1)
        let args = CommandLine.arguments
        var cargs: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) }
        cargs.append(nil)
        execv("/proc/self/exe", &cargs)
        // execv only returns on failure: carry on with the slow core rather than die.
        unsetenv("OPENBLAS_CORETYPE")
    }
}
