import Foundation
import Testing
@testable import Environments

/// The native household engine against the real ALFWorld text engine (PyPI `alfworld`, run by
/// `scripts/alfworld_driver.py`) on games of every task type written by gtr's generator: identical feedback text,
/// admissible-command sets and `won` at every step, for the expert's commands and for random ones (with invalid
/// commands mixed in). `.ci/run` installs alfworld into `.venv-alfworld`; GTR_ALFWORLD_PYTHON names another Python.
@Suite(.serialized) struct HouseholdConformanceTests {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// A Python that can import alfworld, and alfworld's data folder (domain and grammar).
    static let alfworld: (python: String, data: URL)? = {
        var candidates = [repo.appendingPathComponent(".venv-alfworld/bin/python").path, "/usr/bin/python3"]
        if let p = ProcessInfo.processInfo.environment["GTR_ALFWORLD_PYTHON"] { candidates.insert(p, at: 0) }
        for py in candidates where FileManager.default.isExecutableFile(atPath: py) {
            if let out = try? run(py, ["-c", "import alfworld, os; print(os.path.dirname(alfworld.__file__))"]), out.status == 0 {
                let dir = URL(fileURLWithPath: out.stdout.trimmingCharacters(in: .whitespacesAndNewlines)).appendingPathComponent("data")
                if FileManager.default.fileExists(atPath: dir.appendingPathComponent("alfred.pddl").path) { return (py, dir) }
            }
        }
        return nil
    }()

    static func run(_ exe: String, _ args: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = args
        let dir = FileManager.default.temporaryDirectory
        let out = dir.appendingPathComponent("gtr-py-\(UUID().uuidString).out"), err = dir.appendingPathComponent("gtr-py-\(UUID().uuidString).err")
        FileManager.default.createFile(atPath: out.path, contents: nil)
        FileManager.default.createFile(atPath: err.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: out); try? FileManager.default.removeItem(at: err) }
        p.standardOutput = try FileHandle(forWritingTo: out)
        p.standardError = try FileHandle(forWritingTo: err)
        try p.run()
        p.waitUntilExit()
        return (p.terminationStatus, (try? String(contentsOf: out, encoding: .utf8)) ?? "", (try? String(contentsOf: err, encoding: .utf8)) ?? "")
    }

    @Test(.enabled(if: HouseholdConformanceTests.alfworld != nil)) func nativeEngineMatchesTheRealEngine() throws {
        let (python, data) = HouseholdConformanceTests.alfworld!
        let domain = try String(contentsOf: data.appendingPathComponent("alfred.pddl"), encoding: .utf8)
        let grammar = try String(contentsOf: data.appendingPathComponent("alfred.twl2"), encoding: .utf8)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gtr-conformance-\(UUID().uuidString)")
        var jobs: [JSONValue] = []
        var worlds: [HouseholdWorld] = []
        for task in HouseholdTask.allCases {
            for seed in UInt64(0)..<2 {
                let g = try HouseholdGenerator.generate(task: task, seed: seed)
                let gameDir = dir.appendingPathComponent("\(task.rawValue)-\(seed)")
                try FileManager.default.createDirectory(at: gameDir, withIntermediateDirectories: true)
                let file = gameDir.appendingPathComponent("game.tw-pddl")
                try g.gameFile(domain: domain, grammar: grammar).write(to: file, atomically: true, encoding: .utf8)
                try g.trajData.write(to: gameDir.appendingPathComponent("traj_data.json"), atomically: true, encoding: .utf8)
                let w = try g.world()
                // The expert's plan with probes mixed in (inventory, look, examine, a command that does nothing).
                var commands: [String] = ["look", "inventory", "jump around"]
                for (k, c) in HouseholdExpert.plan(w).enumerated() {
                    commands.append(c)
                    if k % 2 == 1 { commands += ["look", "inventory"] }
                    if c.hasPrefix("take ") { commands.append("examine " + c.dropFirst(5).components(separatedBy: " from ")[0]) }
                }
                jobs.append(.object([("game", .string(file.path)), ("commands", .array(commands.map { .string($0) }))]))
                jobs.append(.object([("game", .string(file.path)), ("random", .number(40)), ("seed", .number(Double(seed)))]))
                worlds += [try HouseholdWorld(gameFile: file), try HouseholdWorld(gameFile: file)]
            }
        }
        let jobsFile = dir.appendingPathComponent("jobs.json")
        try JSONValue.array(jobs).serialized().write(to: jobsFile, atomically: true, encoding: .utf8)
        let r = try Self.run(python, [Self.repo.appendingPathComponent("scripts/alfworld_driver.py").path, "--batch", jobsFile.path])
        try #require(r.status == 0, "driver failed: \(r.stderr.suffix(2000))")
        guard case let .array(transcripts) = try JSONParser.parse(r.stdout) else { Issue.record("driver output is not a list"); return }
        try #require(transcripts.count == worlds.count)
        var steps = 0, wins = 0
        for (k, t) in transcripts.enumerated() {
            let report = HouseholdConformance.compare(world: worlds[k], transcript: t)
            steps += report.steps
            if worlds[k].won { wins += 1 }
            #expect(report.identical, "job \(k) (\(jobs[k]["game"]?.stringValue ?? "")):\n\(report.differences.prefix(3).joined(separator: "\n"))")
        }
        #expect(wins >= HouseholdTask.allCases.count * 2, "every expert run ends won")
        print("household conformance: \(worlds.count / 2) games, \(transcripts.count) runs, \(steps) steps compared with the real ALFWorld engine, \(wins) won")
        try? FileManager.default.removeItem(at: dir)
    }
}
