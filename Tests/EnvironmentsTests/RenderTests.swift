import Foundation
import Support
import Testing
@testable import Environments

func sha256Hex(_ bytes: [UInt8]) throws -> String {
    // Hash through the system's sha256sum so the test does not depend on a crypto package.
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString)
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    let f = dir.appendingPathComponent("px.bin")
    try Data(bytes).write(to: f)
    return try runTool("/usr/bin/sha256sum", [f.path]).split(separator: " ").first.map(String.init) ?? ""
}

func runTool(_ exe: String, _ args: [String]) throws -> String {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: exe)
    p.arguments = args
    let pipe = Pipe()
    p.standardOutput = pipe
    try p.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
}

@Suite struct RenderTests {
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func pngDecodesToTheSamePixels() throws {
        let env = Points24()
        try env.reset(seed: 0, options: ["cards": "HJ,DJ,S6,DK"])
        _ = try env.step("10"); _ = try env.step("*")
        let img = env.observe().image
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let f = dir.appendingPathComponent("frame.png")
        try Data(PNG.encode(img)).write(to: f)
        let out = try runTool("/usr/bin/env", ["python3", RenderTests.repoRoot.appendingPathComponent("scripts/png_pixels.py").path, f.path])
        #expect(out == "300 300 \(try sha256Hex(img.pixels))")
    }

    @Test func geometryFollowsGymCards() throws {
        let env = Points24()
        try env.reset(seed: 0, options: ["cards": "HJ,DJ,S6,DK"])
        let img = env.render()
        #expect(img.width == 300 && img.height == 300)
        #expect(img[0, 0] == .table && img[299, 299] == .table)
        // card i spans x = 5 + int(i·67·1.1) … +67, y = 103 … 196 (border grey, inside white)
        for (i, x) in [5, 78, 152, 226].enumerated() {
            #expect(img[x, 103] == .cardBorder, "card \(i) corner")
            #expect(img[x + 66, 195] == .cardBorder)
            #expect(img[x + 1, 104] == .white)
            #expect(img[x - 1, 150] == .table || i == 0 && img[x - 1, 150] == .table)
        }
        #expect(img[5, 102] == .table && img[5, 196] == .table)
        // a red suit colour appears on the heart card and not on the spade
        let redOnHeart = (5..<72).contains { x in (103..<196).contains { y in img[x, y] == .cardRed } }
        let redOnSpade = (152..<219).contains { x in (103..<196).contains { y in img[x, y] == .cardRed } }
        #expect(redOnHeart && !redOnSpade)
        // the formula line is drawn in white at y = 240 once a token is played
        let before = (10..<100).contains { x in (240..<254).contains { y in img[x, y] == .white } }
        _ = try env.step("10")
        let after = env.render()
        let drawn = (10..<100).contains { x in (240..<254).contains { y in after[x, y] == .white } }
        #expect(!before && drawn)
    }

    /// Golden checksums for fixed deals: any change to card art, font or layout shows up here.
    @Test func goldenChecksums() throws {
        let p = Points24()
        try p.reset(seed: 0, options: ["cards": "HJ,DJ,S6,DK"])
        _ = try p.step("10"); _ = try p.step("*")
        let e = EZPoints()
        try e.reset(seed: 0, options: ["cards": "C3,DQ"])
        let n = NumberLine()
        try n.reset(seed: 0, options: ["start": "1", "target": "4"])
        let b = Blackjack()
        try b.reset(seed: 11, options: [:])
        let sums = [p.render().checksum, e.render().checksum, n.render().checksum, b.render().checksum]
        #expect(sums == RenderTests.golden, "new checksums: \(sums)")
    }

    static let golden: [UInt64] = [9_274_716_571_174_079_975, 7_865_984_922_566_334_804, 901_449_460_462_409_157, 6_129_032_981_648_783_943]

    @Test func terminalRendering() throws {
        let p = Points24()
        try p.reset(seed: 0, options: ["cards": "HJ,DJ,S6,DK"])
        let plain = p.terminalView(ansi: false)
        #expect(plain.hasPrefix("[HJ] [DJ] [S6] [DK]\n"))
        #expect(!plain.contains("\u{1B}"))
        let ansi = p.terminalView(ansi: true)
        #expect(ansi.contains("\u{1B}[31m") && ansi.contains("♥") && ansi.contains("╭─────╮"))
    }
}
