import Environments
import Episodes
import Foundation
import SessionLog
import Support
import Training

/// `export`: a session's or a training run's agent steps as JSON lines that distributed trainers read.
///
/// * `format=trl-sft`: one conversational example per agent step, as TRL's `SFTTrainer` and
///   `datasets.load_dataset("json", …)` read a vision-language dataset (`messages` with an image part, `images` with
///   paths relative to the JSONL); the assistant's text is GTR's thought-cloning target (the corrector's corrected
///   thought, then the agent's own action) when the step was corrected, else the step is left out unless `all=on`
///   (then the agent's own output). Frames go to `FILE_images/`, one PNG per distinct frame (named by its SHA-256).
///   In text observation mode the user turn has no image part and `images` is empty; every column keeps one type.
/// * `format=rollouts`: every agent step with its full record (prompt, output, token log-probs, value, reward,
///   done, the corrector's review…).
///
/// Frames are never stored: a session's episodes are replayed from their env, seed and options with the logged
/// actions (the games are deterministic), and each replayed step is checked against the log (action, reward, done,
/// observation, the agent's prompt, the corrector's frame hash) so a frame is only written when the replay is
/// the episode that was played. A run's episodes are replayed from `runs/ID/rollouts.jsonl` the same way.
extension Shell {
    static let exportFormats = ["trl-sft", "rollouts"]

    static let exportCommand = CommandSpec(
        name: "export", group: "log",
        summary: "write a session's or a training run's agent steps as JSONL: trl-sft (TRL / HF datasets, frames as PNG) or rollouts (full records)",
        example: "export session=$session out=gtr-sft.jsonl",
        options: [
            OptionSpec("run", .int(1...1_000_000), "a training run ($GTR_HOME/runs/ID; train runs lists them)"),
            OptionSpec("session", .int(1...1_000_000_000), "a session of the log (sessions lists them; $session is this one)"),
            OptionSpec("out", .path, "the JSONL file to write (trl-sft puts the frames in FILE_images/ beside it)"),
            OptionSpec("format", .choice(exportFormats), default: "trl-sft",
                       "trl-sft: one chat example per corrected step; rollouts: every agent step's full record"),
            OptionSpec("all", .choice(["on", "off"]), default: "off", "trl-sft: also uncorrected steps, with the agent's own output"),
        ],
        usageOverride: "export run=ID|session=ID out=FILE.jsonl [format=trl-sft|rollouts] [all=on|off]",
        volatile: true) { sh, a in
        try sh.export(a)
    }

    /// One agent step, from a session's log or a run's rollout file, with what both formats write.
    struct ExportStep {
        var origin: String
        var session: Int64?
        var run: Int?
        var update: Int?
        var envIndex: Int?
        var commandSeq: Int?
        var env: String
        var episode: Int
        var t: Int
        var seed: UInt64?
        var options: [String: String]
        var model: String?
        var prompt: String
        var output: String
        var tokenIDs: [Int32]
        var tokenLogProbs: [Float]
        var thoughtLogProb: Float?
        var actionLogProb: Float?
        var value: Float?
        var reward: Double
        var bonus: Double
        var done: Bool
        var invalid: Bool
        var valid: Bool?
        var truncation: String?
        var action: String
        var source: String
        var verdict: String?
        var answers: [String]?
        var targetFormula: String?
        var possibleSolution: Bool?
        var correctedThought: String?
        var judgedThought: String?
        var corrector: String?
        var labelled: Bool
        /// The thought-cloning target when the step was corrected.
        var target: String?
        /// The frame the agent saw (only drawn where trl-sft writes it).
        var frame: RGBImage?

        var textMode: Bool { options["observation"] == ObservationMode.text.rawValue }
    }

    struct ExportRequest {
        var trl: Bool
        var all: Bool
        /// Whether a step is written (trl-sft: corrected, or every step with all=on).
        func wanted(labelled: Bool, target: String?) -> Bool { !trl || all || (labelled && target != nil) }
    }

    func export(_ a: Arguments) throws {
        let run = a.int("run"), session = a.int("session")
        guard (run == nil) != (session == nil) else {
            throw CommandError("export takes exactly one of run=ID or session=ID (usage: \(Shell.exportCommand.usage))")
        }
        guard let outPath = a.string("out") else { throw CommandError("export needs out=FILE.jsonl (usage: \(Shell.exportCommand.usage))") }
        let format = a.string("format") ?? "trl-sft"
        let req = ExportRequest(trl: format == "trl-sft", all: a.string("all") == "on")
        let url = resolve(outPath)
        // The destination is checked before any work: a temporary file beside it, moved in place at the end.
        if isNonRegularFile(url) { throw CommandError("cannot write \(outPath): \(fileProblem(url, CocoaError(.fileWriteUnknown)))") }
        let tmp = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).partial-\(UUID().uuidString.prefix(8))")
        do { try Data().write(to: tmp) } catch { throw CommandError("cannot write \(outPath): \(fileProblem(url, error))") }
        var moved = false
        defer { if !moved { try? FileManager.default.removeItem(at: tmp) } }

        let steps = try run.map { try exportRunSteps($0, req) } ?? exportSessionSteps(Int64(session!), req)
        var lines = ""
        var examples = 0
        var written: Set<String> = []
        let stem = (url.lastPathComponent as NSString).deletingPathExtension
        let imageFolder = stem + "_images"
        for s in steps {
            if req.trl {
                let text: String, source: String
                if s.labelled, let t = s.target { (text, source) = (t, "correction") } else if req.all { (text, source) = (s.output, "agent") } else { continue }
                var images: [String] = []
                if !s.textMode {
                    guard let frame = s.frame else { throw CommandError("internal: no frame for episode \(s.episode) step \(s.t)") }
                    let name = Shell.frameName(frame)
                    let rel = imageFolder + "/" + name
                    if !written.contains(name) {
                        let file = url.deletingLastPathComponent().appendingPathComponent(rel)
                        if written.isEmpty {
                            do { try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true) } catch {
                                throw CommandError("cannot write \(imageFolder): \(fileProblem(file.deletingLastPathComponent(), error))")
                            }
                        }
                        do { try Data(PNG.encode(frame)).write(to: file) } catch { throw CommandError("cannot write \(rel): \(fileProblem(file, error))") }
                        written.insert(name)
                    }
                    images = [rel]
                }
                lines += Shell.trlLine(s, target: text, source: source, images: images) + "\n"
            } else {
                lines += Shell.rolloutLine(s) + "\n"
            }
            examples += 1
        }
        do {
            try Data(lines.utf8).write(to: tmp)
            if FileManager.default.fileExists(atPath: url.path) { try FileManager.default.removeItem(at: url) }
            try FileManager.default.moveItem(at: tmp, to: url)
            moved = true
        } catch { throw CommandError("cannot write \(outPath): \(fileProblem(url, error))") }
        out("exported \(examples) example\(examples == 1 ? "" : "s") (\(written.count) image\(written.count == 1 ? "" : "s")) to \(outPath)")
    }

    /// `<first 16 hex digits of the SHA-256 of width, height and pixels>.png`: identical frames share one file.
    static func frameName(_ img: RGBImage) -> String {
        var bytes = [UInt8](); bytes.reserveCapacity(img.pixels.count + 8)
        for v in [UInt32(img.width), UInt32(img.height)] { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
        bytes.append(contentsOf: img.pixels)
        return String(SHA256.hex(bytes).prefix(16)) + ".png"
    }

    /// The corrector's image hash of a frame (`CorrectionRequest.imageHash`): the full SHA-256 of the same bytes.
    static func imageHash(_ img: RGBImage) -> String {
        var bytes = [UInt8](); bytes.reserveCapacity(img.pixels.count + 8)
        for v in [UInt32(img.width), UInt32(img.height)] { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
        bytes.append(contentsOf: img.pixels)
        return SHA256.hex(bytes)
    }

    // MARK: the two line formats

    static func trlLine(_ s: ExportStep, target: String, source: String, images: [String]) -> String {
        var user: [JSONValue] = []
        if !images.isEmpty { user.append(.object([("type", .string("image"))])) }
        user.append(.object([("type", .string("text")), ("text", .string(s.prompt))]))
        var w = JSONLine()
        w.raw("messages", JSONValue.array([
            .object([("role", .string("user")), ("content", .array(user))]),
            .object([("role", .string("assistant")), ("content", .array([.object([("type", .string("text")), ("text", .string(target))])]))]),
        ]).serialized())
        w.raw("images", JSONValue.array(images.map { .string($0) }).serialized())
        w.string("env", s.env); w.int("episode", s.episode); w.int("t", s.t); w.string("action", s.action)
        w.string("verdict", s.verdict ?? ""); w.string("source", source); w.string("origin", s.origin)
        w.int("origin_id", s.run ?? Int(s.session ?? 0))
        return w.finished
    }

    static func rolloutLine(_ s: ExportStep) -> String {
        var w = JSONLine()
        w.string("origin", s.origin)
        w.int("session", s.session.map { Int($0) }); w.int("run", s.run); w.int("update", s.update); w.int("env_index", s.envIndex)
        w.int("command_seq", s.commandSeq)
        w.string("env", s.env); w.int("episode", s.episode); w.int("t", s.t)
        w.raw("seed", s.seed.map { String($0) } ?? "null")
        w.raw("options", JSONValue.object(s.options.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) }).serialized())
        w.string("model", s.model)
        w.string("prompt", s.prompt); w.string("output", s.output)
        w.raw("token_ids", "[" + s.tokenIDs.map(String.init).joined(separator: ",") + "]")
        w.raw("token_logprobs", "[" + s.tokenLogProbs.map { JSONLine.number($0) }.joined(separator: ",") + "]")
        w.float("thought_logp", s.thoughtLogProb); w.float("action_logp", s.actionLogProb); w.float("value", s.value)
        w.double("reward", s.reward); w.double("bonus", s.bonus); w.bool("done", s.done); w.bool("invalid", s.invalid)
        w.bool("valid", s.valid); w.string("truncation", s.truncation)
        w.string("action", s.action); w.string("source", s.source)
        w.string("verdict", s.verdict)
        w.raw("answers", s.answers.map { JSONValue.array($0.map { .string($0) }).serialized() } ?? "null")
        w.string("target_formula", s.targetFormula); w.bool("possible_solution", s.possibleSolution)
        w.string("corrected_thought", s.correctedThought); w.string("judged_thought", s.judgedThought); w.string("corrector", s.corrector)
        w.bool("labelled", s.labelled); w.string("target", s.target)
        return w.finished
    }

    // MARK: a training run

    func exportRunSteps(_ id: Int, _ req: ExportRequest) throws -> [ExportStep] {
        let dir = runsDirectory.appendingPathComponent(String(id))
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir.path, isDirectory: &isDir), isDir.boolValue else {
            throw CommandError("no run \(id) in \(runsDirectory.path) (train runs lists them)")
        }
        let file = dir.appendingPathComponent(RolloutFile.name)
        guard FileManager.default.fileExists(atPath: file.path) else {
            throw CommandError("run \(id) has no \(RolloutFile.name) (no update finished yet, or the run predates rollout files)")
        }
        let records: [RolloutRecord]
        do { records = try RolloutFile.read(file) } catch { throw CommandError("\(error)") }
        var replays: [Int: EpisodeSession] = [:]
        var out: [ExportStep] = []
        let corrector = readRunFile(id)?.config.corrector
        for r in records {
            var s = ExportStep(origin: "run", session: nil, run: id, update: r.update, envIndex: r.envIndex, commandSeq: nil, env: r.env,
                               episode: r.episode, t: r.t, seed: r.seed, options: r.options, model: nil, prompt: r.prompt, output: r.output,
                               tokenIDs: r.tokenIDs, tokenLogProbs: r.tokenLogProbs, thoughtLogProb: r.thoughtLogProb,
                               actionLogProb: r.actionLogProb, value: r.value, reward: r.reward, bonus: r.bonus, done: r.done,
                               invalid: r.invalid, valid: r.valid, truncation: r.truncation, action: r.action, source: "agent",
                               verdict: r.verdict, answers: r.answers, targetFormula: r.targetFormula, possibleSolution: r.possibleSolution,
                               correctedThought: r.correctedThought, judgedThought: nil, corrector: r.verdict == nil ? nil : corrector, labelled: r.labelled,
                               target: r.target, frame: nil)
            // Frames: the episode is replayed from its seed with the outputs the agent wrote, as the collector played it.
            if req.trl && !s.textMode {
                let whereText = "run \(id) update \(r.update) env \(r.envIndex) episode \(r.episode) step t=\(r.t)"
                let ep: EpisodeSession
                if let e = replays[r.episode] {
                    ep = e
                } else {
                    guard r.t == 1 else { throw CommandError("\(whereText) cannot be reproduced: the episode's earlier steps are not in \(RolloutFile.name)") }
                    guard let seed = r.seed else { throw CommandError("\(whereText) cannot be reproduced: the episode has no seed") }
                    do {
                        let env = try EnvironmentRegistry.make(r.env)
                        (env as? EnvironmentBase)?.renderFrames = false
                        ep = try EpisodeSession(env: env, number: r.episode, seed: seed, options: r.options)
                    } catch { throw CommandError("\(whereText) cannot be reproduced: \(error)") }
                    replays[r.episode] = ep
                }
                guard ep.stepCount == r.t - 1 else {
                    throw CommandError("\(whereText) cannot be reproduced: the replayed episode is at step \(ep.stepCount)")
                }
                guard ep.env.prompt(thoughts: true) == r.prompt else {
                    throw CommandError("\(whereText) cannot be reproduced: the replayed state's prompt differs from the logged one")
                }
                if req.wanted(labelled: r.labelled, target: r.target) { s.frame = ep.env.frame }
                let step: EpisodeStep
                do { step = try ep.apply(.modelOutput(r.output), source: .agent) } catch {
                    throw CommandError("\(whereText) cannot be reproduced: \(error)")
                }
                guard step.action == r.action else {
                    throw CommandError("\(whereText) cannot be reproduced: logged action \(r.action), replayed \(step.action)")
                }
                if r.done || step.done { replays[r.episode] = nil }
            }
            if req.wanted(labelled: r.labelled, target: r.target) { out.append(s) }
        }
        return out
    }

    // MARK: a session of the log

    private struct LoggedGeneration {
        var seq: Int
        var model: String
        var prompt: String
        var text: String
        var tokenIDs: [Int32]
        var logProbs: [Float]
        var thoughtLogProb: Float?
        var actionLogProb: Float?
        var value: Float?
    }

    /// One episode being replayed: its session (nil when it cannot be: no seed, or an env that failed to deal,
    /// with the reason), and the command that produced each state so far (state k's is `births[k]`).
    private struct Replayed {
        var session: EpisodeSession?
        var why: String?
        var births: [Int]
    }

    func exportSessionSteps(_ id: Int64, _ req: ExportRequest) throws -> [ExportStep] {
        let c: SQLiteConnection
        do { c = try log?.reader() ?? SQLiteConnection(path: databasePath, readOnly: true) } catch {
            throw CommandError("cannot read the session log \(databasePath): \(error)")
        }
        defer { c.close() }
        func int(_ v: SQLValue) -> Int? { if case let .int(i) = v { return Int(i) }; return nil }
        func text(_ v: SQLValue) -> String? { if case let .text(t) = v { return t }; return nil }
        func real(_ v: SQLValue) -> Double? {
            if case let .real(d) = v { return d }; if case let .int(i) = v { return Double(i) }; return nil
        }
        var episodes: [Int: (env: String, seed: UInt64?, options: [String: String])] = [:]
        var steps: [(commandSeq: Int, record: StepRecord)] = []
        var gens: [String: [LoggedGeneration]] = [:]
        var corrections: [String: [CorrectionRecord]] = [:]
        func key(_ e: Int, _ t: Int) -> String { "\(e):\(t)" }
        do {
            guard try c.query("SELECT 1 FROM sessions WHERE id=?", [.int(id)]).rows.count == 1 else {
                throw CommandError("no session \(id) in \(databasePath) (sessions lists them)")
            }
            for r in try c.query("SELECT episode, env, seed, options FROM episodes WHERE session_id=?", [.int(id)]).rows {
                guard let e = int(r[0]) else { continue }
                var opts: [String: String] = [:]
                for pair in (text(r[3]) ?? "").split(separator: " ") {
                    let kv = pair.split(separator: "=", maxSplits: 1).map(String.init)
                    if kv.count == 2 { opts[kv[0]] = kv[1] }
                }
                episodes[e] = (text(r[1]) ?? "", int(r[2]).map { UInt64(bitPattern: Int64($0)) }, opts)
            }
            steps = try SessionLog.steps(in: c, session: id)
            let sql = """
                SELECT command_seq, episode, t, model, prompt, text, token_ids, logprobs, thought_logp, action_logp, value
                FROM generations WHERE session_id=? AND kind='generate' ORDER BY id
                """
            for r in try c.query(sql, [.int(id)]).rows {
                guard let e = int(r[1]), let t = int(r[2]) else { continue }
                let ids = (text(r[6]) ?? "").split(separator: ",").compactMap { Int32($0) }
                let lps = (text(r[7]) ?? "").split(separator: ",").map { Float(String($0)) ?? .nan }
                gens[key(e, t), default: []].append(LoggedGeneration(
                    seq: int(r[0]) ?? 0, model: text(r[3]) ?? "", prompt: text(r[4]) ?? "", text: text(r[5]) ?? "", tokenIDs: ids, logProbs: lps,
                    thoughtLogProb: real(r[8]).map(Float.init), actionLogProb: real(r[9]).map(Float.init), value: real(r[10]).map(Float.init)))
            }
            for r in try SessionLog.corrections(in: c, session: id) { corrections[key(r.episode, r.t), default: []].append(r) }
        } catch let e as CommandError { throw e } catch { throw CommandError("session \(id): \(error)") }

        var replays: [Int: Replayed] = [:]
        var out: [ExportStep] = []
        for (seq, st) in steps {
            let e = st.episode, k = st.t - 1
            let whereText = "session \(id) episode \(e) step t=\(st.t) (command \(seq))"
            var rp: Replayed
            if let r = replays[e] {
                rp = r
            } else {
                rp = Replayed(session: nil, why: nil, births: [Int.min])
                if let info = episodes[e] {
                    if let seed = info.seed {
                        do { rp.session = try EpisodeSession(env: try EnvironmentRegistry.make(info.env), number: e, seed: seed, options: info.options) } catch {
                            rp.why = "its env does not deal again (\(error))"
                        }
                    } else {
                        rp.why = "episode \(e) was dealt without a seed, so its frames cannot be re-drawn (deal with seed=N, or export format=rollouts)"
                    }
                } else {
                    rp.why = "the log has no row for episode \(e)"
                }
            }
            guard k >= 0, k < rp.births.count else {
                throw CommandError("\(whereText) cannot be reproduced: the log holds no step t=\(k) before it")
            }
            // An undo took the episode back: later states are gone.
            rp.births.removeLast(rp.births.count - (k + 1))
            if let ep = rp.session, ep.stepCount > k {
                do { try ep.undo(ep.stepCount - k) } catch { throw CommandError("\(whereText) cannot be reproduced: \(error)") }
            }
            let birth = rp.births[k]
            let isAgent = st.source == "agent"
            let replayedPrompt = isAgent ? rp.session?.env.prompt(thoughts: true) : nil
            // What the corrector saw of this state (its frame's hash), read before the step changes it.
            let stateHash = isAgent && !(corrections[key(e, k)] ?? []).isEmpty ? rp.session.map { Shell.imageHash($0.env.observe().image) } : nil
            // The agent's output for this state: the last generation between the state's birth and the step.
            var candidates = isAgent ? (gens[key(e, k)] ?? []).filter { $0.seq >= birth && $0.seq <= seq } : []
            if let p = replayedPrompt, !candidates.isEmpty {
                candidates = candidates.filter { $0.prompt == p }
                if candidates.isEmpty {
                    throw CommandError("\(whereText) cannot be reproduced: the replayed state's prompt differs from the agent's logged prompt")
                }
            }
            let gen = candidates.last
            let frame = isAgent && req.trl ? rp.session?.env.frame : nil
            // Replay the step and check it is the logged one.
            var invalid = st.action == "(invalid)"
            if let ep = rp.session {
                var inputs: [EpisodeInput] = []
                if let g = gen { inputs.append(.modelOutput(g.text)) }
                inputs.append(st.action == "(invalid)" ? .modelOutput("") : .action(st.action))
                var matched = false, seen = ""
                for input in inputs {
                    guard let s = try? ep.apply(input, source: .agent) else { seen = "the replayed env refused \(st.action)"; continue }
                    if s.action != st.action || s.reward != st.reward || s.done != st.done || s.observation != st.observation { try? ep.undo(1) }
                    if s.action == st.action, s.reward == st.reward, s.done == st.done, s.observation == st.observation {
                        matched = true; invalid = s.invalid; break
                    }
                    seen = "logged \(st.action) → reward \(st.reward) | \(st.observation.prefix(60)); replayed \(s.action) → reward \(s.reward) | \(s.observation.prefix(60))"
                }
                guard matched else { throw CommandError("\(whereText) cannot be reproduced from its seed: \(seen)") }
            }
            rp.births.append(seq)
            replays[e] = rp
            guard let g = gen else { continue }

            // The corrector's review of this state: the latest answer between the state's birth and the step, for the
            // same frame, preferring one that judged the thought the agent played.
            var judged = (corrections[key(e, k)] ?? []).filter { ($0.commandSeq ?? -1) >= birth && ($0.commandSeq ?? Int.max) <= seq }
            if let h = stateHash { judged = judged.filter { $0.imageHash.isEmpty || $0.imageHash == h } }
            let playedThought = Shell.thoughtWithoutAction(g.text)
            let review = judged.last { $0.thought == playedThought } ?? judged.last
            let jsonAction = (try? JSONParser.parse(g.text.trimmingCharacters(in: .whitespacesAndNewlines)))?["action"]?.stringValue
            let agentAction = st.action != "(invalid)" ? st.action : jsonAction
            var labelled = false, target: String?
            if let r = review, r.verdict == "NO", r.possibleSolution != false, r.failure == nil, let ct = r.correctedThought,
               let action = agentAction, let v = try? JSONParser.parse(ct), let t = try? ThoughtCloning.target(correction: v, action: action) {
                labelled = true; target = t.text
            }
            let info = episodes[e]
            var answers: [String]?
            if let r = review, case let .array(items)? = try? JSONParser.parse(r.answers) { answers = items.map { $0.stringValue ?? $0.serialized() } }
            var s = ExportStep(origin: "session", session: id, run: nil, update: nil, envIndex: nil, commandSeq: seq, env: st.env, episode: e,
                               t: st.t, seed: info?.seed, options: info?.options ?? [:], model: g.model, prompt: g.prompt, output: g.text,
                               tokenIDs: g.tokenIDs, tokenLogProbs: g.logProbs, thoughtLogProb: g.thoughtLogProb, actionLogProb: g.actionLogProb,
                               value: g.value, reward: st.reward, bonus: 0, done: st.done, invalid: invalid, valid: nil, truncation: nil,
                               action: st.action, source: st.source, verdict: review?.verdict, answers: answers,
                               targetFormula: review?.targetFormula, possibleSolution: review?.possibleSolution,
                               correctedThought: review?.correctedThought, judgedThought: review?.thought, corrector: review?.corrector,
                               labelled: labelled, target: target, frame: nil)
            guard req.wanted(labelled: labelled, target: target) else { continue }
            if req.trl && !s.textMode {
                guard let f = frame else { throw CommandError("\(whereText): no frame: \(rp.why ?? "the episode cannot be replayed")") }
                s.frame = f
            }
            out.append(s)
        }
        return out
    }

    /// The thought of an output as the corrector is sent it: the JSON object without its `action` member, compact.
    static func thoughtWithoutAction(_ text: String) -> String? {
        guard case let .object(pairs)? = try? JSONParser.parse(text.trimmingCharacters(in: .whitespacesAndNewlines)) else { return nil }
        return JSONValue.object(pairs.filter { $0.0 != "action" }).serialized()
    }
}

/// One JSON object written key by key, in order (integers exactly, floats in their shortest form, non-finite as null).
struct JSONLine {
    private var text = "{"
    private var empty = true

    var finished: String { text + "}" }

    mutating func raw(_ key: String, _ value: String) {
        if !empty { text += "," }
        empty = false
        text += JSONValue.string(key).serialized() + ":" + value
    }
    mutating func string(_ key: String, _ v: String?) { raw(key, v.map { JSONValue.string($0).serialized() } ?? "null") }
    mutating func int(_ key: String, _ v: Int?) { raw(key, v.map(String.init) ?? "null") }
    mutating func bool(_ key: String, _ v: Bool?) { raw(key, v.map { $0 ? "true" : "false" } ?? "null") }
    mutating func float(_ key: String, _ v: Float?) { raw(key, v.map { JSONLine.number($0) } ?? "null") }
    mutating func double(_ key: String, _ v: Double?) { raw(key, v.map { JSONLine.number($0) } ?? "null") }

    static func number(_ f: Float) -> String { f.isFinite ? "\(f)" : "null" }
    static func number(_ d: Double) -> String { d.isFinite ? "\(d)" : "null" }
}
