import Foundation
import Support
import Tensors
import Testing
@testable import Agents

/// Damaged model files (issue 16): every mutation of the default agent's config.json or weights either loads and
/// generates, or fails with one line naming the problem; nothing traps.
@Suite struct ModelFileFuzzTests {
    static var shipped: URL { DefaultAgent.shipped! }

    func copyAgent() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gtr-fuzz-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for f in ["config.json", "model.safetensors"] {
            try FileManager.default.copyItem(at: Self.shipped.appendingPathComponent(f), to: dir.appendingPathComponent(f))
        }
        return dir
    }

    /// Loads and, when that works, generates a few tokens: returns nil on success or the error's text.
    func tryModel(_ dir: URL) -> String? {
        do {
            let m = try PolicyRegistry.load(from: dir)
            var g = GenerationConfig(greedy: true)
            g.maxNewTokens = 4
            _ = try m.generate([AgentInput(image: RGBImage(width: 300, height: 300), prompt: "cards")], config: g)
            return nil
        } catch { return "\(error)" }
    }

    /// Config fields set to values a damaged or hand-edited file could hold.
    @Test func configFieldsOutOfRangeAreOneLineErrors() throws {
        let dir = try copyAgent()
        defer { try? FileManager.default.removeItem(at: dir) }
        let original = try String(contentsOf: dir.appendingPathComponent("config.json"), encoding: .utf8)
        let fields = ["dModel", "layers", "heads", "kvHeads", "ffnHidden", "maxSequence", "vocabSize", "imageSide", "downsample",
                      "patch", "valueHidden", "normEps", "ropeBase"]
        let values = ["0", "-1", "1", "2", "3", "7", "128.5", "1e300", "-1e300", "2147483648", "4611686018427387904", "9223372036854775807",
                      "-9223372036854775808", "\"x\"", "null", "true", "[]", "{}", "1e-40", "0.5"]
        var failures = 0, loaded = 0
        for f in fields {
            for v in values {
                // replace the field's value (the file is pretty-printed: `"field" : value,`)
                guard let r = original.range(of: "\"\(f)\" : ") else { Issue.record("no \(f) in config.json"); continue }
                let end = original[r.upperBound...].firstIndex(where: { $0 == "," || $0 == "\n" })!
                let mutated = original.replacingCharacters(in: r.upperBound..<end, with: v)
                try mutated.write(to: dir.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
                if let e = tryModel(dir) {
                    failures += 1
                    #expect(!e.contains("\n") && e.count < 400, "\(f)=\(v): \(e)")
                    #expect(!e.contains("NSCocoaErrorDomain") && !e.contains("Foundation."), "\(f)=\(v): \(e)")
                    // In gtr's words, naming the field (every value here is valid JSON).
                    #expect(!e.contains("not valid JSON") && !e.contains("Expected to decode"), "\(f)=\(v): \(e)")
                    if !e.contains("model.safetensors") { #expect(e.contains(f), "\(f)=\(v): \(e)") }  // else: the weights do not fit the shape
                } else { loaded += 1 }
            }
        }
        #expect(failures > 200 && loaded > 0)
    }

    /// A subnormal normEps read on a thread with flush-to-zero set (as gtr's worker threads are): Foundation's
    /// decoder then fails without a field path, and the error must still name the field. Run on a thread of its
    /// own so the FTZ/DAZ bits do not leak into other tests.
    @Test func subnormalNormEpsIsNamedUnderFlushToZero() throws {
        let dir = try copyAgent()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("config.json")
        let original = try String(contentsOf: url, encoding: .utf8)
        let r = try #require(original.range(of: "\"normEps\" : "))
        let end = original[r.upperBound...].firstIndex(where: { $0 == "," || $0 == "\n" })!
        try original.replacingCharacters(in: r.upperBound..<end, with: "1e-40").write(to: url, atomically: true, encoding: .utf8)
        for flush in [false, true] {
            nonisolated(unsafe) var result: String?
            let done = DispatchSemaphore(value: 0)
            let t = Thread {
                if flush { BLASRuntime.flushDenormals() }
                result = tryModel(dir)
                done.signal()
            }
            t.start()
            done.wait()
            let e = try #require(result, "flush=\(flush): a subnormal normEps loaded")
            #expect(e.contains("normEps") && !e.contains("\n"), "flush=\(flush): \(e)")
        }
    }

    /// ≥ 1,000 random mutations of the weights file: byte flips in the header and the data, truncation, NaN/Inf.
    @Test func weightMutationsNeverTrap() throws {
        let dir = try copyAgent()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("model.safetensors")
        let original = [UInt8](try Data(contentsOf: url))
        let headerLength = Int(original[0..<8].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) })
        var rng = SeededRNG(seed: 16)
        var errors = 0, nonFiniteNamed = 0
        for trial in 0..<1_000 {
            var b = original
            switch trial % 5 {
            case 0:  // a byte of the length or the JSON header
                let i = rng.int(in: 0...(8 + headerLength - 1)); b[i] = UInt8(rng.int(in: 0...255))
            case 1:  // truncated anywhere
                b = Array(b.prefix(rng.int(in: 0...(b.count - 1))))
            case 2:  // a NaN or an infinity in a weight
                let i = 8 + headerLength + 4 * rng.int(in: 0...((b.count - 8 - headerLength) / 4 - 1))
                let bits = (rng.int(in: 0...1) == 0 ? Float.nan : -Float.infinity).bitPattern
                for k in 0..<4 { b[i + k] = UInt8((bits >> (8 * UInt32(k))) & 0xFF) }
            case 3:  // the header length off by a little
                let delta = rng.int(in: -3...3)
                let n = UInt64(max(0, headerLength + delta))
                for k in 0..<8 { b[k] = UInt8((n >> (8 * UInt64(k))) & 0xFF) }
            default:  // a run of random bytes somewhere
                let i = rng.int(in: 0...(b.count - 16))
                for k in 0..<16 { b[i + k] = UInt8(rng.int(in: 0...255)) }
            }
            try Data(b).write(to: url)
            if let e = tryModel(dir) {
                errors += 1
                #expect(!e.contains("\n") && e.count < 400, "trial \(trial): \(e)")
                if trial % 5 == 2 {
                    #expect(e.contains("non-finite") && e.contains("tensor \""), "trial \(trial): \(e)")
                    nonFiniteNamed += 1
                }
            }
        }
        #expect(errors >= 400)
        #expect(nonFiniteNamed == 200, "every NaN/∞ weight is rejected with its tensor's name")
    }
}
