import Environments
import Foundation
import Support

/// The link to the real ALFWorld text engine (PyPI `alfworld`, no data download): where its domain and grammar
/// are, and a batch run of `scripts/alfworld_driver.py` whose transcripts the native engine is compared with.
public enum AlfworldBridge {
    public struct Installation: Sendable {
        public var python: String
        /// The folder holding `alfred.pddl` and `alfred.twl2`.
        public var data: URL
        public var domain: String { (try? String(contentsOf: data.appendingPathComponent("alfred.pddl"), encoding: .utf8)) ?? "" }
        public var grammar: String { (try? String(contentsOf: data.appendingPathComponent("alfred.twl2"), encoding: .utf8)) ?? "" }
    }

    /// The repository root (for `scripts/` and `.venv-alfworld`), from this source file's path.
    public static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// A Python that imports alfworld: GTR_ALFWORLD_PYTHON, the repository's `.venv-alfworld`, then `python3`.
    public static func locate() -> Installation? {
        var candidates = [repoRoot.appendingPathComponent(".venv-alfworld/bin/python").path, "/usr/bin/python3", "/usr/local/bin/python3"]
        if let p = ProcessInfo.processInfo.environment["GTR_ALFWORLD_PYTHON"], !p.isEmpty { candidates.insert(p, at: 0) }
        for py in candidates where FileManager.default.isExecutableFile(atPath: py) {
            guard let r = try? run(py, ["-c", "import alfworld, os; print(os.path.dirname(alfworld.__file__))"]), r.status == 0 else { continue }
            let dir = URL(fileURLWithPath: r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)).appendingPathComponent("data")
            if FileManager.default.fileExists(atPath: dir.appendingPathComponent("alfred.pddl").path) { return Installation(python: py, data: dir) }
        }
        return nil
    }

    static func run(_ exe: String, _ args: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = args
        let tmp = FileManager.default.temporaryDirectory
        let out = tmp.appendingPathComponent("gtr-py-\(UUID().uuidString).out"), err = tmp.appendingPathComponent("gtr-py-\(UUID().uuidString).err")
        FileManager.default.createFile(atPath: out.path, contents: nil)
        FileManager.default.createFile(atPath: err.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: out); try? FileManager.default.removeItem(at: err) }
        p.standardOutput = try FileHandle(forWritingTo: out)
        p.standardError = try FileHandle(forWritingTo: err)
        try p.run()
        p.waitUntilExit()
        return (p.terminationStatus, (try? String(contentsOf: out, encoding: .utf8)) ?? "", (try? String(contentsOf: err, encoding: .utf8)) ?? "")
    }

    /// Writes generated games as ALFWorld folders (`<task>-<Object>-<Parent>-<seed>/game.tw-pddl` + `traj_data.json`).
    public static func write(_ games: [HouseholdGame], to dir: URL, domain: String, grammar: String) throws -> [URL] {
        try games.map { g in
            let name = [g.task.rawValue, g.objectTarget, g.parentTarget.isEmpty ? g.toggleTarget : g.parentTarget, String(g.seed)].joined(separator: "-")
                + (g.sharedLocations ? "-shared" : "")
            let d = dir.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
            try g.gameFile(domain: domain, grammar: grammar).write(to: d.appendingPathComponent("game.tw-pddl"), atomically: true, encoding: .utf8)
            try g.trajData.write(to: d.appendingPathComponent("traj_data.json"), atomically: true, encoding: .utf8)
            return d.appendingPathComponent("game.tw-pddl")
        }
    }

    public struct Comparison: Sendable {
        public var games = 0
        public var runs = 0
        public var steps = 0
        public var won = 0
        public var differences: [String] = []
        public var summary: String {
            "\(games) game(s), \(runs) run(s), \(steps) step(s) compared with the real ALFWorld engine: "
                + (differences.isEmpty ? "identical feedback, admissible commands and won at every step" : "\(differences.count) difference(s)")
                + " (\(won) run(s) won)"
        }
    }

    /// Plays, for each game, the expert's plan with probes mixed in (look, inventory, examine, a command that does
    /// nothing) and `randomSteps` random commands, in the real engine and in the native one, and compares.
    public static func compare(games: [URL], randomSteps: Int, seed: UInt64, installation: Installation) throws -> Comparison {
        var jobs: [JSONValue] = []
        var worlds: [HouseholdWorld] = []
        for (k, file) in games.enumerated() {
            let w = try HouseholdWorld(gameFile: file)
            var commands: [String] = ["look", "inventory", "jump around"]
            for (i, c) in HouseholdExpert.plan(w).enumerated() {
                commands.append(c)
                if i % 2 == 1 { commands += ["look", "inventory"] }
                if c.hasPrefix("take ") { commands.append("examine " + c.dropFirst(5).components(separatedBy: " from ")[0]) }
            }
            jobs.append(.object([("game", .string(file.path)), ("commands", .array(commands.map { .string($0) }))]))
            worlds.append(w)
            if randomSteps > 0 {
                jobs.append(.object([("game", .string(file.path)), ("random", .number(Double(randomSteps))), ("seed", .number(Double(seed &+ UInt64(k))))]))
                worlds.append(HouseholdWorld(copying: w))
            }
        }
        let jobsFile = FileManager.default.temporaryDirectory.appendingPathComponent("gtr-alfworld-jobs-\(UUID().uuidString).json")
        try JSONValue.array(jobs).serialized().write(to: jobsFile, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: jobsFile) }
        let r = try run(installation.python, [repoRoot.appendingPathComponent("scripts/alfworld_driver.py").path, "--batch", jobsFile.path])
        guard r.status == 0 else { throw CommandError("the ALFWorld driver failed: " + String(r.stderr.suffix(600))) }
        guard case let .array(transcripts) = try JSONParser.parse(r.stdout), transcripts.count == worlds.count else {
            throw CommandError("the ALFWorld driver returned an unexpected answer")
        }
        var c = Comparison(games: games.count, runs: transcripts.count)
        for (k, t) in transcripts.enumerated() {
            let report = HouseholdConformance.compare(world: worlds[k], transcript: t)
            c.steps += report.steps
            if worlds[k].won { c.won += 1 }
            c.differences += report.differences.prefix(3).map { "\(jobs[k]["game"]?.stringValue ?? ""): \($0)" }
        }
        return c
    }
}
