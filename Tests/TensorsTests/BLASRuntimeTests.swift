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
}
