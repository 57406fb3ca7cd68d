import Environments
import Foundation
import Shell
import Support

/// Household engine speed (issue 7): native steps and resets per second, and the real ALFWorld engine's in the
/// same run when it is installed (`make alfworld`), on the same generated games and random admissible commands.
enum HouseholdBench {
    static func rows() throws -> [(String, String, String)] {
        let games = try HouseholdTask.allCases.map { try HouseholdGenerator.generate(task: $0, seed: 100) }
        var rng = SeededRNG(seed: 1)
        var steps = 0
        let worlds = try games.map { try $0.world() }
        let tSteps = time {
            for w in worlds {
                for _ in 0..<20 {
                    w.reset()
                    for _ in 0..<30 { w.execute(rng.pick(w.admissibleCommands)); steps += 1; if w.won { break } }
                }
            }
        }
        var resets = 0
        let tResets = time { for _ in 0..<200 { for w in worlds { w.reset(); _ = w.intro; _ = w.admissibleCommands; resets += 1 } } }
        let tLoads = try time { for g in games { for _ in 0..<20 { _ = try g.world() } } }
        let nativeStep = tSteps / Double(steps), nativeReset = tResets / Double(resets), nativeLoad = tLoads / Double(games.count * 20)
        var rows: [(String, String, String)] = [
            ("household native steps/s (random admissible commands, 6 generated games)", String(format: "%.0f", 1 / nativeStep),
             String(format: "%.1f µs/step incl. the admissible list", nativeStep * 1e6)),
            ("household native resets/s", String(format: "%.0f", 1 / nativeReset), "reset + intro + admissible list"),
            ("household native game loads/s (parse PDDL, build the world)", String(format: "%.0f", 1 / nativeLoad), ""),
        ]
        guard let inst = AlfworldBridge.locate() else {
            rows.append(("household: real ALFWorld engine", "not installed", "make alfworld, then make bench"))
            return rows
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gtr-bench-household-\(getpid())")
        defer { try? FileManager.default.removeItem(at: dir) }
        let files = try AlfworldBridge.write(games, to: dir, domain: inst.domain, grammar: inst.grammar)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: inst.python)
        p.arguments = [AlfworldBridge.repoRoot.appendingPathComponent("scripts/alfworld_driver.py").path, "--random", "30", "--bench"] + files.map(\.path)
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard let r = try? JSONParser.parse(String(decoding: data, as: UTF8.self)), let step = r["step"]?.numberValue,
              let reset = r["reset"]?.numberValue, let load = r["load"]?.numberValue else {
            rows.append(("household: real ALFWorld engine", "failed", "driver gave no timings"))
            return rows
        }
        rows.append(("household real engine steps/s (same games, textworld PddlEnv)", String(format: "%.1f", 1 / step),
                     String(format: "native is %.0f× faster", step / nativeStep)))
        rows.append(("household real engine resets/s", String(format: "%.1f", 1 / reset), String(format: "native is %.0f× faster", reset / nativeReset)))
        rows.append(("household real engine game loads/s", String(format: "%.2f", 1 / load), String(format: "native is %.0f× faster", load / nativeLoad)))
        return rows
    }
}
