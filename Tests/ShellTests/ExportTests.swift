import Environments
import Foundation
import SessionLog
import Support
import Testing
import Training
@testable import Shell

/// `export`: a session's and a training run's agent steps as TRL / HF-datasets JSONL (`trl-sft`) and as full
/// records (`rollouts`), checked against what the session log and the run recorded; frames re-drawn by replaying
/// the episodes; the run's rollout file kept consistent across a resume and a branch; one-line errors.
@Suite(.serialized) struct ExportTests {
    static let wrongThought = "thought set '{\"cards\": [1, 2, 3, 4], \"formula\": \"\", \"thoughts\": \"I am lost\", '"
    /// The shipped default agent on two Points24 deals: one seen as a frame, one in words. The first deal's thought
    /// is corrected, played, taken back and played again (the same state, so the same frame and the same
    /// correction), then one more step; the second deal's is corrected and played, then one more step.
    static let script = ["model load default", "agent greedy=true",
                         "env points24 seed=1 solvable_only=true", "think", wrongThought, "correct", "step", "undo", "step", "step",
                         "env points24 seed=2 solvable_only=true observation=text", "think", wrongThought, "correct", "step", "step"]

    static let python = repoRoot.appendingPathComponent(".venv-serve/bin/python").path
    /// The peer venv with HF `datasets` (`.venv-serve`); the loading test skips without it.
    static let datasetsAvailable: Bool = {
        FileManager.default.isExecutableFile(atPath: python) && spawnAndWait([python, "-c", "import datasets"], timeout: 120) == 0
    }()

    func jsonLines(_ url: URL) throws -> [JSONValue] {
        try String(contentsOf: url, encoding: .utf8).split(separator: "\n").map { try JSONParser.parse(String($0)) }
    }

    func oneLine(_ sh: Shell) -> Bool { sh.lastOutput.split(separator: "\n", omittingEmptySubsequences: true).count == 1 }

    /// Width and height from a PNG's IHDR.
    func pngSize(_ d: Data) -> (Int, Int)? {
        let b = [UInt8](d)
        guard b.count > 24, b.starts(with: [0x89, 0x50, 0x4E, 0x47]) else { return nil }
        func u32(_ k: Int) -> Int { Int(b[k]) << 24 | Int(b[k + 1]) << 16 | Int(b[k + 2]) << 8 | Int(b[k + 3]) }
        return (u32(16), u32(20))
    }

    /// The frame of `env` dealt with `seed` and `options` after no step, as a PNG.
    func firstFrame(_ env: String, seed: UInt64, options: [String: String]) throws -> (png: Data, width: Int, height: Int) {
        let e = try EnvironmentRegistry.make(env)
        try e.reset(seed: seed, options: options)
        let f = e.frame
        return (Data(PNG.encode(f)), f.width, f.height)
    }

    @Test func sessionExportHoldsWhatTheSessionDid() throws {
        let dir = tempDir()
        let sh = makeShell(dir)
        for c in Self.script { #expect(sh.execute(c), "\(c): \(sh.lastOutput)") }
        let session = sh.sessionID

        // What the log holds: the agent's steps, its generations and the two corrections.
        let db = try SQLiteConnection(path: dir.appendingPathComponent("gtr.sqlite").path, readOnly: true)
        let agentSteps = try SessionLog.steps(in: db, session: session).map(\.record).filter { $0.source == "agent" }
        let gens = try db.query("SELECT episode, t, prompt, text, token_ids FROM generations WHERE session_id=? AND kind='generate' ORDER BY id",
                                [.int(session)]).rows.map { r in (e: r[0].description, t: r[1].description, prompt: r[2].description, text: r[3].description,
                                                                  ids: r[4].description.split(separator: ",").count) }
        let corrections = try SessionLog.corrections(in: db, session: session)
        db.close()
        try #require(corrections.count == 2 && corrections.allSatisfy { $0.verdict == "NO" && $0.correctedThought != nil })
        #expect(agentSteps.count >= 4)
        #expect(agentSteps.prefix(2).map(\.t) == [1, 1])  // played, taken back, played again
        /// The agent's output for a step: the last generation for the state it saw.
        func gen(_ s: StepRecord) -> (e: String, t: String, prompt: String, text: String, ids: Int)? {
            gens.last { $0.e == String(s.episode) && $0.t == String(s.t - 1) }
        }
        func target(_ s: StepRecord) throws -> String? {
            guard s.t == 1, let c = corrections.first(where: { $0.episode == s.episode }) else { return nil }
            return try ThoughtCloning.target(correction: JSONParser.parse(c.correctedThought!), action: s.action).text
        }

        // rollouts: every agent step with its full record.
        #expect(sh.execute("export session=\(session) out=full.jsonl format=rollouts"), "\(sh.lastOutput)")
        #expect(sh.lastOutput == "exported \(agentSteps.count) examples (0 images) to full.jsonl\n", "\(sh.lastOutput)")
        let full = try jsonLines(dir.appendingPathComponent("full.jsonl"))
        try #require(full.count == agentSteps.count)
        for (r, s) in zip(full, agentSteps) {
            let g = try #require(gen(s))
            #expect(r["origin"] == .string("session") && r["session"] == .number(Double(session)))
            #expect(r["env"] == .string("points24") && r["episode"] == .number(Double(s.episode)) && r["t"] == .number(Double(s.t)))
            #expect(r["action"] == .string(s.action) && r["reward"]?.numberValue == s.reward && r["done"] == .bool(s.done))
            #expect(r["prompt"] == .string(g.prompt) && r["output"] == .string(g.text))
            guard case let .array(ids)? = r["token_ids"], case let .array(lps)? = r["token_logprobs"] else { Issue.record("no tokens"); continue }
            #expect(ids.count == g.ids && lps.count == g.ids && g.ids > 0)
            #expect(r["thought_logp"]?.numberValue != nil && r["action_logp"]?.numberValue != nil && r["value"]?.numberValue != nil)
            #expect(r["seed"] == .number(s.episode == 1 ? 1 : 2) && r["source"] == .string("agent"))
            #expect(r["options"]?["observation"] == (s.episode == 1 ? nil : .string("text")))
            if let t = try target(s) {
                let c = corrections.first { $0.episode == s.episode }!
                #expect(r["verdict"] == .string("NO") && r["labelled"] == .bool(true) && r["target"] == .string(t))
                #expect(r["corrected_thought"] == .string(c.correctedThought!) && r["judged_thought"] == .string(c.thought))
                #expect(r["target_formula"] == (c.targetFormula.map { .string($0) } ?? .null) && r["corrector"] == .string("oracle"))
                guard case let .array(answers)? = r["answers"] else { Issue.record("no answers"); continue }
                #expect(answers.count >= 2 && answers.first?.stringValue?.contains("The cards are") == true)
            } else {
                #expect(r["verdict"] == .null && r["labelled"] == .bool(false) && r["target"] == .null)
            }
        }

        // trl-sft: one example per corrected step, the corrected thought with the agent's action as the answer.
        #expect(sh.execute("export session=\(session) out=sft.jsonl"), "\(sh.lastOutput)")
        #expect(sh.lastOutput == "exported 3 examples (1 image) to sft.jsonl\n", "\(sh.lastOutput)")
        let sft = try jsonLines(dir.appendingPathComponent("sft.jsonl"))
        let corrected = try agentSteps.filter { try target($0) != nil }
        try #require(sft.count == 3 && corrected.count == 3)
        let frame = try firstFrame("points24", seed: 1, options: ["solvable_only": "true"])
        for (r, s) in zip(sft, corrected) {
            let g = try #require(gen(s))
            guard case let .array(msgs)? = r["messages"], msgs.count == 2, case let .array(user)? = msgs[0]["content"],
                  case let .array(answer)? = msgs[1]["content"], case let .array(images)? = r["images"] else { Issue.record("bad row \(r)"); continue }
            #expect(msgs[0]["role"] == .string("user") && msgs[1]["role"] == .string("assistant"))
            #expect(user.last == .object([("type", .string("text")), ("text", .string(g.prompt))]))
            #expect(answer == [.object([("type", .string("text")), ("text", .string(try target(s)!))])])
            #expect(r["verdict"] == .string("NO") && r["source"] == .string("correction") && r["action"] == .string(s.action))
            #expect(r["episode"] == .number(Double(s.episode)) && r["t"] == .number(1) && r["env"] == .string("points24"))
            if s.episode == 1 {
                // The frame the agent saw, re-drawn by replaying the deal: the same pixels as a fresh deal of seed 1.
                #expect(user.first == .object([("type", .string("image"))]) && user.count == 2)
                let path = try #require(images.first?.stringValue)
                #expect(images.count == 1 && path.hasPrefix("sft_images/") && path.hasSuffix(".png"))
                let png = try Data(contentsOf: dir.appendingPathComponent(path))
                #expect(png == frame.png)
                #expect(pngSize(png).map { $0 == (frame.width, frame.height) } == true)
            } else {
                #expect(user.count == 1 && images.isEmpty)  // text mode: no image part
            }
        }
        // Both plays of the first state share its one frame file.
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("sft_images").path)
        #expect(files.count == 1)

        // all=on: every agent step; uncorrected ones answer with the agent's own output.
        #expect(sh.execute("export session=$session out=all.jsonl all=on"), "\(sh.lastOutput)")
        // One file per distinct frame: at most one per state of the first deal (an invalid step leaves the frame as it was).
        let imageSteps = Set(agentSteps.filter { $0.episode == 1 }.map(\.t)).count
        let drawn = try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("all_images").path).count
        #expect((1...imageSteps).contains(drawn))
        #expect(sh.lastOutput == "exported \(agentSteps.count) examples (\(drawn) image\(drawn == 1 ? "" : "s")) to all.jsonl\n", "\(sh.lastOutput)")
        let all = try jsonLines(dir.appendingPathComponent("all.jsonl"))
        try #require(all.count == agentSteps.count)
        for (r, s) in zip(all, agentSteps) {
            let g = try #require(gen(s))
            guard case let .array(msgs)? = r["messages"], case let .array(answer)? = msgs[1]["content"] else { Issue.record("bad row"); continue }
            let own = try target(s) == nil
            #expect(answer.first?["text"] == .string(own ? g.text : try target(s)!))
            #expect(r["source"] == .string(own ? "agent" : "correction") && r["verdict"] == .string(own ? "" : "NO"))
        }
        sh.close()
    }

    @Test func runExportHoldsEveryCollectedStepAndSurvivesAResumeAndABranch() throws {
        let dir = tempDir()
        let sh = makeShell(dir)
        sh.autoLoadDefault = false
        #expect(sh.execute(TrainCommandTests.model), "\(sh.lastOutput)")
        #expect(sh.execute(TrainCommandTests.run + " updates=3 eval_every=0"), "\(sh.lastOutput)")
        #expect(sh.execute("train wait"), "\(sh.lastOutput)")
        let file = dir.appendingPathComponent("runs/1/rollouts.jsonl")
        let original = try String(contentsOf: file, encoding: .utf8)
        #expect(original.split(separator: "\n").count == 3 * 2 * 2)  // updates × envs × steps

        #expect(sh.execute("export run=1 out=run.jsonl format=rollouts"), "\(sh.lastOutput)")
        #expect(sh.lastOutput == "exported 12 examples (0 images) to run.jsonl\n", "\(sh.lastOutput)")
        let recs = try jsonLines(dir.appendingPathComponent("run.jsonl"))
        #expect(recs.map { Int($0["update"]?.numberValue ?? 0) } == [1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3])
        for r in recs {
            #expect(r["origin"] == .string("run") && r["run"] == .number(1) && r["env"] == .string("numberline") && r["session"] == .null)
            #expect(r["prompt"]?.stringValue?.isEmpty == false && r["output"]?.stringValue != nil && r["seed"]?.numberValue != nil)
            guard case let .array(ids)? = r["token_ids"], case let .array(lps)? = r["token_logprobs"] else { Issue.record("no tokens"); continue }
            #expect(ids.count == lps.count && !ids.isEmpty)
            #expect(r["value"]?.numberValue != nil && r["reward"]?.numberValue != nil && r["options"]?["time_limit"] == .string("6"))
            if r["labelled"] == .bool(true) {
                #expect(r["verdict"] == .string("NO") && r["target"]?.stringValue?.hasPrefix("{") == true && r["corrected_thought"]?.stringValue != nil)
                #expect(r["corrector"] == .string("oracle"))
            }
        }
        let labelled = recs.filter { $0["labelled"] == .bool(true) }.count
        #expect(sh.execute("export run=1 out=sft.jsonl"), "\(sh.lastOutput)")
        #expect(sh.lastOutput.hasPrefix("exported \(labelled) example"), "\(sh.lastOutput)")
        #expect(try jsonLines(dir.appendingPathComponent("sft.jsonl")).allSatisfy { $0["source"] == .string("correction") })

        // all=on: every step, each with the frame it saw; the first is env 0's first deal.
        #expect(sh.execute("export run=1 out=all.jsonl all=on"), "\(sh.lastOutput)")
        #expect(sh.lastOutput.hasPrefix("exported 12 examples ("), "\(sh.lastOutput)")
        let all = try jsonLines(dir.appendingPathComponent("all.jsonl"))
        try #require(all.count == 12)
        var opts: [String: String] = [:]
        if case let .object(pairs)? = recs[0]["options"] { for (k, v) in pairs { opts[k] = v.stringValue } }
        let first = try firstFrame("numberline", seed: UInt64(recs[0]["seed"]!.numberValue!), options: opts)
        for (k, r) in all.enumerated() {
            guard case let .array(images)? = r["images"], let path = images.first?.stringValue else { Issue.record("no image"); continue }
            let png = try Data(contentsOf: dir.appendingPathComponent(path))
            #expect(pngSize(png).map { $0 == (first.width, first.height) } == true)
            if k == 0 { #expect(png == first.png) }
            #expect(r["origin"] == .string("run") && r["origin_id"] == .number(1))
        }
        sh.close()

        // A resume from update 1's checkpoint collects updates 2 and 3 again: the file keeps one copy of each, the same.
        for u in [2, 3] { try FileManager.default.removeItem(at: dir.appendingPathComponent("runs/1/update-\(u)")) }
        let sh2 = makeShell(dir)
        sh2.autoLoadDefault = false
        #expect(sh2.execute("train resume run=1"), "\(sh2.lastOutput)")
        #expect(sh2.execute("train wait"), "\(sh2.lastOutput)")
        #expect(try String(contentsOf: file, encoding: .utf8) == original)
        // A branch from update 2 starts with its parent's lines up to update 2, then repeats update 3.
        #expect(sh2.execute("train rollback 2"), "\(sh2.lastOutput)")
        #expect(sh2.execute("train wait"), "\(sh2.lastOutput)")
        #expect(try String(contentsOf: dir.appendingPathComponent("runs/2/rollouts.jsonl"), encoding: .utf8) == original)
        #expect(sh2.execute("export run=2 out=branch.jsonl format=rollouts"), "\(sh2.lastOutput)")
        #expect(sh2.lastOutput == "exported 12 examples (0 images) to branch.jsonl\n", "\(sh2.lastOutput)")
        sh2.close()
    }

    @Test(.enabled(if: ExportTests.datasetsAvailable, "no .venv-serve/bin/python with HF datasets: the loading check needs the peer venv"))
    func trlExportLoadsWithHuggingFaceDatasets() throws {
        let dir = tempDir()
        let sh = makeShell(dir)
        // Text-mode rows first: `datasets` must infer the columns from rows without images and still read the rest.
        for c in ["model load default", "agent greedy=true", "env points24 seed=2 solvable_only=true observation=text", "step 2",
                  "env points24 seed=1 solvable_only=true", "step 2"] {
            #expect(sh.execute(c), "\(c): \(sh.lastOutput)")
        }
        #expect(sh.execute("export session=$session out=mixed.jsonl all=on"), "\(sh.lastOutput)")
        let rows = try jsonLines(dir.appendingPathComponent("mixed.jsonl"))
        #expect(rows.count >= 4)
        sh.close()
        let outPath = dir.appendingPathComponent("check.out").path
        let status = spawnAndWait([Self.python, repoRoot.appendingPathComponent("scripts/check_trl_export.py").path,
                                   dir.appendingPathComponent("mixed.jsonl").path],
                                  env: ProcessInfo.processInfo.environment.merging(["HF_DATASETS_OFFLINE": "1", "HF_HOME": dir.appendingPathComponent("hf").path]) { $1 },
                                  stdoutPath: outPath, stderrPath: dir.appendingPathComponent("check.err").path, timeout: 300)
        let text = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
        let err = (try? String(contentsOfFile: dir.appendingPathComponent("check.err").path, encoding: .utf8)) ?? ""
        #expect(status == 0, "\(text) \(err.suffix(2000))")
        let summary = try JSONParser.parse(text.split(separator: "\n").last.map(String.init) ?? "")
        #expect(summary["rows"] == .number(Double(rows.count)), "\(text)")
        guard case let .array(cols)? = summary["columns"] else { Issue.record("no columns: \(text)"); return }
        for c in ["messages", "images", "env", "episode", "t", "verdict", "source"] { #expect(cols.contains(.string(c)), "\(c) in \(text)") }
        #expect(summary["features"]?["images"]?.stringValue?.contains("string") == true, "\(text)")
        #expect(summary["features"]?["messages"]?.stringValue?.contains("content") == true, "\(text)")
        #expect(summary["problems"] == .array([]), "\(text)")
        guard case let .object(sizes)? = summary["images"] else { Issue.record("no images: \(text)"); return }
        #expect(!sizes.isEmpty)
    }

    @Test func badInputIsOneLine() throws {
        let dir = tempDir()
        let sh = makeShell(dir)
        #expect(sh.execute("env points24 seed=1"))
        for (cmd, msg) in [("export out=x.jsonl", "exactly one of run=ID or session=ID"),
                           ("export run=1 session=1 out=x.jsonl", "exactly one of run=ID or session=ID"),
                           ("export session=1", "needs out=FILE.jsonl"),
                           ("export session=999 out=x.jsonl", "no session 999"),
                           ("export run=42 out=x.jsonl", "no run 42"),
                           ("export session=$session out=nowhere/x.jsonl", "cannot write nowhere/x.jsonl"),
                           ("export session=$session out=x.jsonl format=csv", "expected one of trl-sft, rollouts"),
                           ("export session=$session out=x.jsonl all=yes", "expected one of on, off")] {
            #expect(!sh.execute(cmd), "\(cmd) should fail")
            #expect(sh.lastOutput.contains(msg) && oneLine(sh), "\(cmd): \(sh.lastOutput)")
        }
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("x.jsonl").path))
        // A run directory without a rollout file (a run from before rollout files) is one line too.
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("runs/7"), withIntermediateDirectories: true)
        #expect(!sh.execute("export run=7 out=x.jsonl"))
        #expect(sh.lastOutput.contains("run 7 has no rollouts.jsonl") && oneLine(sh), "\(sh.lastOutput)")
        // An episode dealt without a seed cannot be re-drawn: its frames are refused, its records are not.
        #expect(sh.execute("reset"))
        #expect(sh.execute("model load default"), "\(sh.lastOutput)")
        #expect(sh.execute("step"), "\(sh.lastOutput)")
        #expect(!sh.execute("export session=$session out=x.jsonl all=on"))
        #expect(sh.lastOutput.contains("dealt without a seed") && oneLine(sh), "\(sh.lastOutput)")
        #expect(sh.execute("export session=$session out=x.jsonl format=rollouts"), "\(sh.lastOutput)")
        #expect(sh.execute("help export"))
        #expect(sh.lastOutput.contains("usage: export run=ID|session=ID out=FILE.jsonl"))
        #expect(Completion.candidates(line: "expo", shell: sh, cwd: dir) == ["export"])
        #expect(Completion.candidates(line: "export format=", shell: sh, cwd: dir) == ["format=rollouts", "format=trl-sft"])
        sh.close()
    }
}
