import Foundation
import Testing
@testable import Tensors

/// The GGUF reader and ggml dequantisers against the PyPI `gguf` package (`scripts/gguf_fixtures.py` wrote
/// `Fixtures/quants.gguf`: a metadata key of every type, and for each tensor type random blocks beside what
/// `gguf.quants.dequantize` makes of them).
@Suite struct GGUFTests {
    static let path = fixtures.appendingPathComponent("quants.gguf").path

    @Test func metadataOfEveryTypeIsRead() throws {
        let f = try GGUFFile(path: Self.path)
        #expect(f.version == 3 && f.alignment == 32)
        #expect(f.metadata["general.architecture"] == .string("gtrtest"))
        #expect(f.metadata["test.u8"]?.int == 200 && f.metadata["test.i8"]?.int == -100)
        #expect(f.metadata["test.u16"]?.int == 60000 && f.metadata["test.i16"]?.int == -30000)
        #expect(f.metadata["test.u32"]?.int == 4_000_000_000 && f.metadata["test.i32"]?.int == -2_000_000_000)
        #expect(f.metadata["test.f32"]?.double == Double(Float(1.5e-5)))
        #expect(f.metadata["test.bool"] == .bool(true))
        #expect(f.metadata["test.string"] == .string("héllo, ĠGGUF"))
        #expect(f.metadata["test.u64"] == .uint(UInt64(1) << 63 + 5) && f.metadata["test.u64"]?.int == nil)
        #expect(f.metadata["test.i64"]?.int == -(1 << 62))
        #expect(f.metadata["test.f64"]?.double == 3.141592653589793)
        #expect(f.metadata["test.strings"] == .array([.string("Ġthe"), .string("a b"), .string(""), .string("∑")]))
        #expect(f.metadata["test.ints"]?.array?.compactMap(\.int) == [1, -2, 3])
        #expect(f.metadata["test.nested"]?.array?.map { $0.array?.compactMap(\.int) ?? [] } == [[1, 2], [3]])
        #expect(f.keys.first == "general.architecture")
    }

    /// Every type gtr reads dequantises exactly as ggml's reference does.
    @Test(arguments: GGMLType.allCases) func dequantisationMatchesTheReference(_ type: GGMLType) throws {
        let f = try GGUFFile(path: Self.path)
        let name = type.name.lowercased()
        let t = try #require(f.tensor(name)), e = try #require(f.tensor(name + ".expected"))
        #expect(t.type == type && e.type == .f32)
        #expect(t.dims == e.dims && t.dims[1] == 2 && t.byteCount == t.elementCount / type.blockElements * type.blockBytes)
        let got = f.dequantize(t), want = f.dequantize(e)
        #expect(got.count == want.count)
        var worst: Float = 0
        for (a, b) in zip(got, want) { worst = max(worst, abs(a - b) / max(1, abs(b))) }
        #expect(worst <= 1e-6, "\(type.name): max relative difference \(worst)")
        #expect(want.contains { $0 != 0 })
    }

    /// Damaged files: 2,000 mutations (bytes flipped in the header, metadata and tensor table, truncation, counts
    /// and lengths set to extremes) each give a GGUFError or a file whose tensors all dequantise; none traps.
    @Test func mutatedFilesNeverTrap() throws {
        let original = try Data(contentsOf: URL(fileURLWithPath: Self.path))
        let f = try GGUFFile(data: original)
        let headerEnd = f.dataOffset
        var rng = SystemRandomNumberGenerator()
        var errors = 0, opened = 0
        var messages = Set<String>()
        for k in 0..<2000 {
            var d = original
            switch k % 4 {
            case 0: d[Int.random(in: 0..<headerEnd, using: &rng)] ^= UInt8.random(in: 1...255, using: &rng)
            case 1:
                let at = Int.random(in: 0..<(headerEnd - 8), using: &rng)
                let v: UInt64 = [0, 1, UInt64.max, UInt64(Int.max), 1 << 32, 1 << 62, UInt64.random(in: 0...UInt64.max, using: &rng)].randomElement(using: &rng)!
                withUnsafeBytes(of: v.littleEndian) { for j in 0..<8 { d[at + j] = $0[j] } }
            case 2: d = d.prefix(Int.random(in: 0..<d.count, using: &rng))
            default:
                for _ in 0..<8 { d[Int.random(in: 0..<d.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng) }
            }
            do {
                let g = try GGUFFile(data: d)
                for t in g.tensors { _ = g.dequantize(t) }
                opened += 1
            } catch let e as GGUFError {
                errors += 1
                #expect(!e.message.contains("\n") && e.message.count < 300, "\(e.message)")
                messages.insert(String(e.message.split(separator: ":").dropFirst().joined(separator: ":").prefix(40)))
            }
        }
        #expect(errors > 500 && opened > 0 && errors + opened == 2000)
        #expect(messages.count > 10)  // many different problems, each named
    }

    /// A damaged file's names can hold control characters or be long: the error quoting them stays one short line
    /// (the fuzz above found a key with a newline).
    @Test func errorsQuotingFileStringsStayOneLine() {
        let e = GGUFError("<memory>: 'test.str\ning\u{1B}[2J' is duplicated " + String(repeating: "x", count: 500))
        #expect(!e.message.contains("\n") && !e.message.contains("\u{1B}") && e.message.count <= 280)
        #expect(e.message.hasPrefix("<memory>: 'test.str?ing?[2J'"))
    }

    @Test func structuralErrorsAreNamed() throws {
        let original = try Data(contentsOf: URL(fileURLWithPath: Self.path))
        func message(_ d: Data) -> String {
            do { _ = try GGUFFile(data: d); return "opened" } catch { return "\(error)" }
        }
        var d = original; d[0] = 0x58
        #expect(message(d).contains("not a GGUF file"))
        d = original; d[4] = 1
        #expect(message(d).contains("version 1 is not supported"))
        #expect(message(original.prefix(10)).contains("too short"))
        #expect(message(original.prefix(original.count - 1)).contains("runs past the end"))
        #expect(throws: GGUFError.self) { try GGUFFile(path: "/nonexistent/x.gguf") }
        #expect(throws: GGUFError.self) { try GGUFFile(path: "/tmp") }
    }
}
