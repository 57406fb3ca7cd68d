import Foundation
import Testing
@testable import Tensors

/// The kernels that make `LlamaRunner` round as llama.cpp does (their bit-for-bit agreement with llama.cpp is tested
/// end to end by `GGUFLlamaTests`); here: accuracy, the orders they promise, and edge cases.
struct GGMLArithmeticTests {
    typealias V16 = GGMLArithmetic.V16

    @Test func expIsAccurateAndHandlesTheEnds() {
        var worst: Float = 0
        var x: Float = -103
        while x < 88 {
            var v = V16()
            for l in 0..<16 { v[l] = x + Float(l) * 0.0137 }
            let e = GGMLArithmetic.exp16(v)
            for l in 0..<16 {
                let ref = Foundation.exp(Double(v[l]))
                guard ref > 1e-37, ref < 1e38 else { continue }
                worst = max(worst, Float(abs(Double(e[l]) - ref) / ref))
            }
            x += 0.219
        }
        // ggml states 1.5 ulp (≈ 1.8e-7)
        #expect(worst < 3e-7, "max relative error \(worst)")
        var ends = V16(repeating: 0)
        ends[0] = -.infinity; ends[1] = -200; ends[2] = 200; ends[3] = .nan; ends[4] = 0
        let e = GGMLArithmetic.exp16(ends)
        #expect(e[0] == 0 && e[1] == 0 && e[2] == .infinity && e[3].isNaN && e[4] == 1)
    }

    @Test func reduce16AddsHalvesThenPairs() {
        // only the promised order gives exactly 0 here: (a8 + a0) cancels first, then the 4-lane and 2-lane steps
        var a = V16(repeating: 0)
        a[0] = 1e8; a[8] = -1e8; a[1] = 1; a[5] = 0.5; a[13] = 0.25
        let r = GGMLArithmetic.reduce16(a)
        let t3 = (0..<8).map { a[8 + $0] + a[$0] }
        let t6 = (0..<4).map { t3[4 + $0] + t3[$0] }
        #expect(r == (t6[0] + t6[2]) + (t6[1] + t6[3]))
        #expect(r == 1.75)
    }

    /// Half-precision rounding keeps subnormal halves even with flush-to-zero on (gtr's threads run with it).
    @Test func halfRoundsToNearestEvenIncludingSubnormals() {
        BLASRuntime.flushDenormals()
        let ulp: Float = 0x1p-24
        #expect(GGMLArithmetic.half(3.5 * ulp) == 4 * ulp)
        #expect(GGMLArithmetic.half(2.5 * ulp) == 2 * ulp)
        #expect(GGMLArithmetic.half(-5.2 * ulp) == -5 * ulp)
        #expect(GGMLArithmetic.half(1e-9) == 0)
        #expect(GGMLArithmetic.half(1023.6 * ulp) == 1024 * ulp)
        for x: Float in [1, 0.1, -3.14159, 65504, 1e-4, 70000, -0x1p-14] {
            #expect(GGMLArithmetic.half(x) == Float(Float16(x)))
        }
        #expect(GGMLArithmetic.half(.infinity) == .infinity && GGMLArithmetic.half(.nan).isNaN)
    }

    @Test func dotProductsMatchDoubleAndTakeLeftovers() {
        var rng = TensorRNG(seed: 7)
        for n in [16, 64, 128, 70, 5] {
            let a = (0..<n).map { _ in Float(rng.normal()) }, b = (0..<n).map { _ in Float(rng.normal()) }
            let ref = zip(a, b).map { Double($0) * Double($1) }.reduce(0, +)
            let scale = zip(a, b).map { abs(Double($0) * Double($1)) }.reduce(0, +)
            let stepped = GGMLArithmetic.dotStepped(a, b, count: n)
            #expect(abs(Double(stepped) - ref) <= 1e-6 * scale, "stepped n=\(n)")
            if n % 16 == 0 {
                let tiled = GGMLArithmetic.dotTiled(a, b, count: n)
                #expect(abs(Double(tiled) - ref) <= 1e-6 * scale, "tiled n=\(n)")
            }
        }
    }

    @Test func softmaxNormalisesTheValidPrefixOnly() {
        var x: [Float] = (0..<37).map { Float($0 % 7) * 0.9 - 2 } + Array(repeating: 1e30, count: 11)
        let ref = x[0..<37].map { Foundation.exp(Double($0)) }
        let total = ref.reduce(0, +)
        x.withUnsafeMutableBufferPointer { GGMLArithmetic.softmax($0.baseAddress!, valid: 37) }
        for i in 0..<37 { #expect(abs(Double(x[i]) - ref[i] / total) < 1e-6) }
        #expect(x[37...].allSatisfy { $0 == 1e30 })
    }

    @Test func ropeRotatesPairsByPositionTimesTheThetaPowers() {
        let dims = 8
        let s = GGMLArithmetic.ropeThetaScale(base: 10_000, dims: dims)
        var x: [Float] = [1, 2, 3, 4, 5, 6, 7, 8]
        let before = x
        x.withUnsafeMutableBufferPointer { GGMLArithmetic.rope($0.baseAddress!, heads: 1, dims: dims, position: 0, thetaScale: s) }
        #expect(x == before)
        x.withUnsafeMutableBufferPointer { GGMLArithmetic.rope($0.baseAddress!, heads: 1, dims: dims, position: 3, thetaScale: s) }
        for i in stride(from: 0, to: dims, by: 2) {
            let theta = 3 * pow(10_000, -Double(i) / Double(dims))
            let c = cos(theta), sn = sin(theta)
            #expect(abs(Double(x[i]) - (Double(before[i]) * c - Double(before[i + 1]) * sn)) < 1e-5)
            #expect(abs(Double(x[i + 1]) - (Double(before[i]) * sn + Double(before[i + 1]) * c)) < 1e-5)
        }
    }

    @Test func rmsNormSumsInDouble() {
        let x: [Float] = [3, 4, 0, 0]
        var y = [Float](repeating: 0, count: 4)
        GGMLArithmetic.rmsNorm(x, &y, count: 4, eps: 0)
        // mean of squares 25/4: scale 1/2.5
        #expect(y == [1.2, 1.6, 0, 0])
    }
}
