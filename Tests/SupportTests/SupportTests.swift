import Testing
@testable import Support

/// The toolbox on its own: every other module trusts these answers.
@Suite struct SupportTests {
    @Test func jsonRoundTripKeepsKeyOrderAndEscapes() throws {
        let v = try JSONParser.parse(#"{"z": [1, 2.5, "a\"b\n"], "a": null, "m": {"t": true}}"#)
        #expect(v.serialized() == #"{"z":[1,2.5,"a\"b\n"],"a":null,"m":{"t":true}}"#)
        #expect(v["m"]?["t"] == .bool(true))
        #expect(throws: JSONParser.ParseError.self) { try JSONParser.parse("[1,]") }
        #expect(JSONValue.string("tab\there").serialized() == #""tab\there""#)
    }

    @Test func seededRNGIsStableAcrossRuns() {
        var a = SeededRNG(seed: 7), b = SeededRNG(seed: 7)
        let xs = (0..<5).map { _ in a.int(in: 0...99) }
        #expect(xs == (0..<5).map { _ in b.int(in: 0...99) })
        #expect(xs.allSatisfy { (0...99).contains($0) })
    }

    @Test func sha256KnownVectors() {
        #expect(SHA256.hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test func editDistance() {
        #expect(Support.editDistance("points24", "points42") == 2)
        #expect(Support.editDistance("", "abc") == 3)
        #expect(Support.editDistance("blackjack", "blackjack") == 0)
    }

    @Test func pngHasSignatureAndChecksummedChunks() {
        let png = PNG.encode(RGBImage(width: 3, height: 2, fill: .white))
        #expect(Array(png.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        #expect(PNG.crc32(Array("IEND".utf8)) == 0xAE42_6082)
        #expect(Array(png.suffix(4)) == [0xAE, 0x42, 0x60, 0x82])
    }
}
