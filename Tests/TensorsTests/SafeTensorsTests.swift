import Foundation
import Testing
@testable import Tensors

let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

func tempPath(_ name: String) -> String {
    let d = NSTemporaryDirectory() + "gtr-st-\(UUID().uuidString)"
    try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
    return d + "/" + name
}

@Suite struct SafeTensorsTests {
    /// A file written by numpy (scripts/make_safetensors_fixture.py), not by our own writer.
    @Test func readsAFileWrittenByNumpy() throws {
        let f = try SafeTensors(path: fixtures.appendingPathComponent("reference.safetensors").path)
        #expect(f.metadata == ["format": "pt", "source": "numpy"])
        #expect(try f.tensor("a.f32").scalars == [1.5, -2.25, 3e-5, 0, 100, -7])
        #expect(try f.tensor("a.f32").shape == [2, 3])
        #expect(try f.tensor("b.f16").scalars == [0.5, -1, 65504, 5.960464477539063e-08])
        #expect(try f.tensor("c.bf16").scalars == [1, -3.140625, 256])
        #expect(try f.tensor("d.f64").scalars == [2.5, -0.125])
        #expect(try f.tensor("e.scalar").shape == [] && f.tensor("e.scalar").item() == 42)
    }

    @Test(arguments: SafeTensors.DType.allCases)
    func roundTrip(dtype: SafeTensors.DType) throws {
        var rng = TensorRNG(seed: 3)
        let t = Tensor<Float>.randn([3, 5], rng: &rng)
        let path = tempPath("x.safetensors")
        try SafeTensors.write(["w": t, "z": .zeros([0, 4])], metadata: ["k": "v"], dtype: dtype, to: path)
        let f = try SafeTensors(path: path)
        #expect(f.metadata["k"] == "v" && f.names == ["w", "z"])
        let back = try f.tensor("w").scalars
        let tol: Float = dtype == .f16 ? 1e-3 : dtype == .bf16 ? 8e-3 : 0
        for (a, b) in zip(t.scalars, back) { #expect(abs(a - b) <= tol * max(1, abs(a))) }
        #expect(try f.tensor("z").shape == [0, 4])
    }

    @Test func halfConversionsRoundToNearestEven() {
        for h in [UInt16(0x0000), 0x8000, 0x0001, 0x03FF, 0x0400, 0x3C00, 0x7BFF, 0xFBFF, 0x7C00] {
            #expect(HalfFloat.fromFloat(HalfFloat.toFloat(h)) == h)
        }
        #expect(HalfFloat.fromFloat(1 + 0x1p-11) == 0x3C00)  // tie → even
        #expect(HalfFloat.fromFloat(1e6) == 0x7C00)
        #expect(HalfFloat.bf16(1 + 0x1p-8) == 0x3F80)
    }

    @Test func damagedFilesGiveClearErrors() throws {
        func message(_ bytes: [UInt8]) -> String {
            do { _ = try SafeTensors(data: Data(bytes)); return "no error" } catch { return "\(error)" }
        }
        #expect(message([1, 2, 3]).contains("too short"))
        #expect(message([255, 255, 255, 255, 255, 255, 255, 255]).contains("exceeds"))
        #expect(message([100, 0, 0, 0, 0, 0, 0, 0, 123, 125]).contains("does not fit"))
        func file(_ json: String, data: Int = 0) -> [UInt8] {
            let h = Array(json.utf8)
            return withUnsafeBytes(of: UInt64(h.count).littleEndian) { Array($0) } + h + [UInt8](repeating: 0, count: data)
        }
        #expect(message(file("[1]")).contains("not a JSON object"))
        #expect(message(file(#"{"x":{"dtype":"I8","shape":[1],"data_offsets":[0,1]}}"#, data: 1)).contains("unsupported dtype"))
        #expect(message(file(#"{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}"#, data: 4)).contains("needs 8"))
        #expect(message(file(#"{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, data: 2)).contains("outside"))
        #expect(message(file(#"{"x":{"dtype":"F32","shape":[1000000000000,1000000000],"data_offsets":[0,4]}}"#, data: 4)).contains("larger than the file"))
        #expect(message(file(#"{"x":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#, data: 4)).contains("non-integer"))
        #expect(throws: TensorError.self) { try SafeTensors(path: "/nonexistent/file.safetensors") }
    }

    /// 10,000 mutated copies of a valid file: byte flips, truncations, extensions, forged header lengths.
    /// Every one either parses into entries that lie inside the file or throws; none crashes, and the header
    /// cap keeps every allocation bounded by the file size.
    @Test func fuzzTenThousandMutatedFiles() throws {
        var rng = TensorRNG(seed: 2024)
        let path = tempPath("seed.safetensors")
        try SafeTensors.write(["a": .ones([4, 3]), "b": .zeros([2]), "c": Tensor<Float>(7)], metadata: ["m": "x"], dtype: .f16, to: path)
        let original = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        var parsed = 0, rejected = 0
        for _ in 0..<10_000 {
            var b = original
            switch rng.next() % 5 {
            case 0:  // flip a few bytes
                for _ in 0..<(1 + Int(rng.next() % 4)) { b[Int(rng.next() % UInt64(b.count))] = UInt8(truncatingIfNeeded: rng.next()) }
            case 1: b = Array(b.prefix(Int(rng.next() % UInt64(b.count))))
            case 2: b += (0..<Int(rng.next() % 64)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            case 3:  // forge the header length
                let v = rng.next() % 2 == 0 ? rng.next() : rng.next() % UInt64(b.count + 16)
                withUnsafeBytes(of: v.littleEndian) { for i in 0..<8 { b[i] = $0[i] } }
            default:  // mutate inside the JSON header only
                let hl = Int(original[0]) | Int(original[1]) << 8
                let alphabet = Array("0123456789[]{}\",:-.eE ".utf8)
                for _ in 0..<(1 + Int(rng.next() % 3)) {
                    b[8 + Int(rng.next() % UInt64(hl))] = alphabet[Int(rng.next() % UInt64(alphabet.count))]
                }
            }
            do {
                let f = try SafeTensors(data: Data(b))
                for n in f.names {
                    let e = f.entries[n]!
                    #expect(e.range.upperBound <= b.count)
                    _ = try f.tensor(n)
                }
                parsed += 1
            } catch {
                #expect(!"\(error)".isEmpty)
                rejected += 1
            }
        }
        #expect(parsed + rejected == 10_000 && rejected > 1000)
    }
}
