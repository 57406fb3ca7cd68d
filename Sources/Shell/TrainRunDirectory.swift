import Foundation
import Training

/// The runs directory `$GTR_HOME/runs`: one directory per run id, `run.json` (config and parent) and one checkpoint
/// directory per saved update; `train runs` draws them as a tree of branches.
extension Shell {
    var runsDirectory: URL { config.home.appendingPathComponent("runs") }

    func nextRunID() -> Int {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: runsDirectory.path)) ?? []
        return (names.compactMap(Int.init).max() ?? 0) + 1
    }

    struct RunFile: Codable {
        var id: Int
        var parentRun: Int?
        var parentUpdate: Int?
        var created: Double
        var config: TrainerConfig
    }

    func writeRunFile(_ run: TrainingRun) throws {
        try FileManager.default.createDirectory(at: run.dir, withIntermediateDirectories: true)
        let f = RunFile(id: run.id, parentRun: run.parent?.run, parentUpdate: run.parent?.update, created: Date().timeIntervalSince1970,
                        config: run.trainer.config)
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        try enc.encode(f).write(to: run.dir.appendingPathComponent("run.json"), options: .atomic)
    }

    func readRunFile(_ id: Int) -> RunFile? {
        let url = runsDirectory.appendingPathComponent("\(id)/run.json")
        guard let d = try? Data(contentsOf: url) else { return nil }
        return try? JSONDecoder().decode(RunFile.self, from: d)
    }

    func trainRuns() {
        let ids = ((try? FileManager.default.contentsOfDirectory(atPath: runsDirectory.path)) ?? []).compactMap(Int.init).sorted()
        guard !ids.isEmpty else { out("no runs yet in \(runsDirectory.path)"); return }
        let files = Dictionary(uniqueKeysWithValues: ids.map { ($0, readRunFile($0)) })
        func line(_ id: Int, depth: Int) {
            let f = files[id] ?? nil
            let cps = TrainingRun.checkpoints(in: runsDirectory.appendingPathComponent(String(id)))
            var s = String(repeating: "  ", count: depth) + (depth > 0 ? "└ " : "") + "run \(id)"
            if let f { s += "  \(f.config.algo.rawValue) on \(f.config.env), \(f.config.updates) updates, seed \(f.config.seed)" }
            if let p = f?.parentRun { s += "  (from run \(p) update \(f?.parentUpdate ?? 0))" }
            s += "  checkpoints: " + (cps.isEmpty ? "none" : cps.map(String.init).joined(separator: ","))
            if let r = training, r.id == id { s += "  ← " + r.currentState.word }
            out(s)
            for c in ids where files[c]??.parentRun == id { line(c, depth: depth + 1) }
        }
        for id in ids where files[id]??.parentRun == nil || files[files[id]!!.parentRun!] == nil { line(id, depth: 0) }
    }
}
