import Environments
import Foundation
import Testing
@testable import Support

/// PNG frames leave the process (chat requests, `image`, `plot`): they must decode to the exact pixels in any
/// reader, with every filter type, and stay small enough to send per request.
@Suite struct PNGTests {
    /// Noise, gradients and flat fills, in odd sizes (a single pixel, a single row or column).
    static func syntheticImages() -> [RGBImage] {
        var rng = SeededRNG(seed: 3)
        var out: [RGBImage] = []
        for (w, h) in [(1, 1), (3, 2), (17, 5), (64, 33), (1, 40), (40, 1)] {
            out.append(RGBImage(width: w, height: h, pixels: (0..<(w * h * 3)).map { _ in UInt8(rng.int(in: 0...255)) }))
            out.append(RGBImage(width: w, height: h, pixels: (0..<(w * h * 3)).map { i in
                let x = i / 3 % w, y = i / 3 / w
                return UInt8(truncatingIfNeeded: [x * 7 + y, y * 5, (x * x + y * 3) / 2][i % 3])
            }))
            out.append(RGBImage(width: w, height: h, fill: RGB(30, 120, 60)))
        }
        return out
    }

    /// Frames of every card game a few moves in, and an ALFWorld room.
    static func realFrames() throws -> [RGBImage] {
        var frames: [RGBImage] = []
        for name in ["points24", "ezpoints", "numberline", "blackjack", "alfworld"] {
            for seed in [UInt64(1), 7] {
                let e = try EnvironmentRegistry.make(name)
                try e.reset(seed: seed, options: [:])
                frames.append(e.frame)
                if let a = e.legalActions.first, !e.isDone { _ = try e.step(a); frames.append(e.frame) }
            }
        }
        return frames
    }

    @Test func everyForcedFilterRoundTrips() throws {
        for img in Self.syntheticImages() {
            for f in PNGFilter.allCases {
                let r = try PNGReader(PNG.encode(img, level: ZlibStream.defaultLevel, filter: f))
                #expect(r.width == img.width && r.height == img.height)
                #expect(r.pixels == img.pixels, "filter \(f) on \(img.width)×\(img.height)")
                #expect(Set(r.filters) == [f.rawValue])
            }
        }
    }

    @Test func adaptiveFilteringRoundTripsAndMixesFilters() throws {
        var used = Set<UInt8>()
        for img in try Self.syntheticImages() + Self.realFrames() {
            let r = try PNGReader(PNG.encode(img))
            #expect(r.pixels == img.pixels, "\(img.width)×\(img.height)")
            used.formUnion(r.filters)
        }
        // The heuristic really chooses per row: across these images every filter wins some row.
        #expect(used == Set(PNGFilter.allCases.map(\.rawValue)), "filters used: \(used.sorted())")
    }

    @Test func pointsFrameFitsAChatRequest() throws {
        let e = Points24()
        try e.reset(seed: 1, options: [:])
        let png = PNG.encode(e.frame)
        #expect(png.count <= 40 * 1024, "\(png.count) bytes")
        #expect(try PNGReader(png).pixels == e.frame.pixels)
    }

    @Test func zlibFailureFallsBackToStoredBlocks() throws {
        // Level 42 is out of zlib's range: compress2 refuses it and the encoder writes stored blocks instead.
        let img = try Self.realFrames()[0]
        let png = PNG.encode(img, level: 42)
        let r = try PNGReader(png)
        #expect(r.pixels == img.pixels)
        #expect(r.idat[2] & 0b110 == 0, "first block is stored (BTYPE 00)")
        #expect(png.count > img.pixels.count)
    }

    static let hasPython = (try? runPython(["-c", "pass"])) != nil

    /// Runs python3 with `args` and returns its standard output; throws when it cannot start or fails.
    static func runPython(_ args: [String]) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3"] + args
        let out = Pipe()
        p.standardOutput = out; p.standardError = FileHandle.nullDevice
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw PNGReader.Failure(description: "python3 exited with \(p.terminationStatus)") }
        return String(decoding: data, as: UTF8.self)
    }

    @Test(.enabled(if: PNGTests.hasPython, "python3 is not installed: the check with Python's zlib is skipped"))
    func pythonsZlibReadsEveryFilter() throws {
        // scripts/png_pixels.py: Python's zlib.decompress and its own unfilter, chunk CRCs checked.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gtr-png-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let gradient = Self.syntheticImages()[10]  // 64×33, smooth
        var images: [(RGBImage, [UInt8])] = PNGFilter.allCases.map { (gradient, PNG.encode(gradient, level: 6, filter: $0)) }
        let frame = try Self.realFrames()[1]
        images.append((frame, PNG.encode(frame)))
        var paths: [String] = []
        for (k, (_, png)) in images.enumerated() {
            let f = dir.appendingPathComponent("\(k).png")
            try Data(png).write(to: f)
            paths.append(f.path)
        }
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("scripts/png_pixels.py").path
        let lines = try Self.runPython([script] + paths).split(separator: "\n").map(String.init)
        #expect(lines == images.map { "\($0.0.width) \($0.0.height) \(SHA256.hex($0.0.pixels))" })
    }

    @Test func checksumsMatchZlib() {
        #expect(PNG.crc32(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(PNG.crc32([]) == 0)
        #expect(ZlibStream.adler32(Array("Wikipedia".utf8)) == 0x11E6_0398)
    }
}
