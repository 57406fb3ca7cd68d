import Foundation
import Testing
@testable import Tensors

@Suite struct BLASRuntimeTests {
    @Test func bestCoreFromCPUFlags() {
        #expect(BLASRuntime.bestCore(cpuFlags: ["avx512f", "avx512bw", "avx512vl", "avx512_bf16", "avx2", "fma"]) == "Cooperlake")
        #expect(BLASRuntime.bestCore(cpuFlags: ["avx512f", "avx512bw", "avx512vl", "avx2", "fma"]) == "SkylakeX")
        #expect(BLASRuntime.bestCore(cpuFlags: ["avx2", "fma"]) == "Haswell")
        #expect(BLASRuntime.bestCore(cpuFlags: ["sse2"]) == nil)
    }

    @Test func reportsTheLoadedCore() {
        #expect(!BLASRuntime.coreName.isEmpty && BLASRuntime.coreName != "unknown")
        #expect(BLASRuntime.threads >= 1)
    }

    /// Package.swift compiles the tensor core for AVX2 only where the build machine has it; the start-up check
    /// agrees with /proc/cpuinfo, and the pool never asks for more threads than cores.
    @Test func vectorUnitAndThreadsAgreeWithTheMachine() {
        let flags = BLASRuntime.cpuFlags()
        if BLASRuntime.compiledForAVX2 { #expect(flags.contains("avx2") && flags.contains("fma")) }
        #expect(BLASRuntime.vectorUnitProblem == nil)
        #expect(Parallel.configuredThreads >= 1 && Parallel.configuredThreads <= max(1, ProcessInfo.processInfo.activeProcessorCount))
    }
}
