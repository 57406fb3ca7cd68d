import Foundation
import Support

/// One rollout step as a run keeps it on disk: where it was taken (update, env, episode, seed and options, so the
/// episode can be replayed: the envs are deterministic given seed and outputs), what the agent saw and wrote with
/// its log-probs and value, what the env and GTR's rules gave, and the corrector's review with the thought-cloning
/// target. Frames are not stored: `export` re-draws them by replaying the episode.
public struct RolloutRecord: Codable, Sendable, Equatable {
    /// The update (1-based) whose rollout holds the step.
    public var update: Int
    public var envIndex: Int
    public var env: String
    public var episode: Int
    /// Step count within the episode after this step (1 for the first); the agent saw the state after t − 1 steps.
    public var t: Int
    public var seed: UInt64?
    public var options: [String: String]
    public var prompt: String
    public var output: String
    public var tokenIDs: [Int32]
    /// Per-token log-probs under the scored (tempered) policy.
    public var tokenLogProbs: [Float]
    public var thoughtLogProb: Float
    public var actionLogProb: Float
    public var value: Float
    /// The reward stored for training (the env's, or GTR's truncation penalty) and the format bonus beside it.
    public var reward: Double
    public var bonus: Double
    public var done: Bool
    /// Strict GTR JSON (the format check), a legal action, and whether the env's `invalid=` rule played the step.
    public var valid: Bool
    public var legal: Bool
    public var invalid: Bool
    /// The executed action, or `(invalid)`.
    public var action: String
    public var truncation: String?
    public var verdict: String?
    public var labelled: Bool
    public var answers: [String]?
    public var targetFormula: String?
    public var possibleSolution: Bool?
    public var correctedThought: String?
    /// The thought-cloning target (corrected thought, then the agent's action) when the step was labelled.
    public var target: String?
    public var failure: String?

    enum CodingKeys: String, CodingKey {
        case update, envIndex = "env_index", env, episode, t, seed, options, prompt, output, tokenIDs = "token_ids"
        case tokenLogProbs = "token_logprobs", thoughtLogProb = "thought_logp", actionLogProb = "action_logp", value, reward, bonus
        case done, valid, legal, invalid, action, truncation, verdict, labelled, answers, targetFormula = "target_formula"
        case possibleSolution = "possible_solution", correctedThought = "corrected_thought", target, failure
    }
}

/// A run's rollouts on disk, `runs/ID/rollouts.jsonl`: one JSON line per rollout step, appended once per update by
/// the trainer (one write per update, in env then step order). A run resumed from its checkpoint at update K
/// rewrites the updates after K, so the file is first cut back to updates ≤ K (`truncate`); a branch from update K
/// starts with its parent's lines up to K (`copy`). A line cut short by a kill is never read: readers stop at the
/// last newline, and `truncate` drops it.
public enum RolloutFile {
    public static let name = "rollouts.jsonl"

    static var encoder: JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // A diverged run may produce NaN log-probs; they must not stop it.
        e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return e
    }

    static var decoder: JSONDecoder {
        let d = JSONDecoder()
        d.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return d
    }

    /// The records of one update's rollout.
    public static func records(update: Int, rollout: Rollout, env: String, options: [String: String]) -> [RolloutRecord] {
        rollout.steps.flatMap { row in
            row.map { s in
                let o = s.output, r = s.review
                return RolloutRecord(update: update, envIndex: s.envIndex, env: env, episode: s.episode, t: s.t, seed: s.seed, options: options,
                                     prompt: s.input.prompt, output: o.text, tokenIDs: o.tokenIDs, tokenLogProbs: o.tokenLogProbs,
                                     thoughtLogProb: o.thoughtLogProb, actionLogProb: o.actionLogProb, value: o.value, reward: s.reward,
                                     bonus: s.bonus, done: s.done, valid: s.valid, legal: s.legal, invalid: s.invalid, action: s.action,
                                     truncation: s.truncation, verdict: r?.verdict, labelled: r?.labelled ?? false, answers: r?.answers,
                                     targetFormula: r?.targetFormula, possibleSolution: r?.possibleSolution, correctedThought: r?.correction,
                                     target: r?.target, failure: r?.failure)
            }
        }
    }

    /// Appends the records (one write).
    public static func append(_ records: [RolloutRecord], to url: URL) throws {
        guard !records.isEmpty else { return }
        let enc = encoder
        var data = Data()
        for r in records { data.append(try enc.encode(r)); data.append(0x0A) }
        let fm = FileManager.default
        do {
            if !fm.fileExists(atPath: url.path) {
                try fm.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                guard fm.createFile(atPath: url.path, contents: nil) else { throw CocoaError(.fileWriteUnknown) }
            }
            let h = try FileHandle(forWritingTo: url)
            defer { try? h.close() }
            try h.seekToEnd()
            try h.write(contentsOf: data)
        } catch {
            throw TrainerError.badConfig("cannot append the rollout to \(url.path): \(fileProblem(url, error))")
        }
    }

    /// The complete lines of the file (up to its last newline), with their 1-based line numbers.
    static func lines(_ url: URL) throws -> [(number: Int, bytes: Data)] {
        let data = try Data(contentsOf: url)
        guard let end = data.lastIndex(of: 0x0A) else { return [] }
        var out: [(Int, Data)] = []
        var n = 0
        for raw in data[data.startIndex..<end].split(separator: 0x0A, omittingEmptySubsequences: false) {
            n += 1
            if !raw.isEmpty { out.append((n, Data(raw))) }
        }
        return out
    }

    /// Every record, in file order; a damaged line is one error naming the file and line.
    public static func read(_ url: URL) throws -> [RolloutRecord] {
        let all: [(number: Int, bytes: Data)]
        do { all = try lines(url) } catch { throw TrainerError.badConfig("cannot read \(url.path): \(fileProblem(url, error))") }
        let dec = decoder
        return try all.map { line in
            do { return try dec.decode(RolloutRecord.self, from: line.bytes) } catch {
                throw TrainerError.badConfig("\(url.path) line \(line.number) is not a rollout record")
            }
        }
    }

    private struct UpdateOnly: Decodable { var update: Int }

    /// Keeps the lines of updates ≤ `update` (and drops damaged ones); nothing to do when the file does not exist.
    public static func truncate(_ url: URL, through update: Int) throws {
        guard FileManager.default.fileExists(atPath: url.path) else { return }
        try rewrite(from: url, to: url, through: update)
    }

    /// Writes `source`'s lines of updates ≤ `update` to `destination` (a branch starts with its parent's history).
    public static func copy(from source: URL, to destination: URL, through update: Int) throws {
        guard FileManager.default.fileExists(atPath: source.path) else { return }
        try rewrite(from: source, to: destination, through: update)
    }

    private static func rewrite(from source: URL, to destination: URL, through update: Int) throws {
        do {
            let dec = decoder
            var out = Data()
            for line in try lines(source) {
                guard let u = try? dec.decode(UpdateOnly.self, from: line.bytes), u.update <= update else { continue }
                out.append(line.bytes); out.append(0x0A)
            }
            try FileManager.default.createDirectory(at: destination.deletingLastPathComponent(), withIntermediateDirectories: true)
            try out.write(to: destination, options: .atomic)
        } catch {
            throw TrainerError.badConfig("cannot rewrite \(destination.path): \(fileProblem(destination, error))")
        }
    }
}
