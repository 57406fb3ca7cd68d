import Environments
import Foundation
import Support

/// The exact corrector: its environment answers GTR's questions from the true state and the exact solver or
/// planner instead of looking at the image (`oracleJudgement`), and writes corrections in the expert's style.
/// Deterministic: the phrasing is drawn from a stream seeded by the request, so the same request always gets the
/// same text. The verdict rules of each game are documented with its judgement in `Environments`.
public final class OracleCorrector: Corrector {
    public let name = "oracle"
    public var identity: String { "oracle/1" }
    public let cacheable = true

    public init() {}

    public func correct(_ r: CorrectionRequest) throws -> CorrectorReply {
        let start = DispatchTime.now().uptimeNanoseconds
        let prompt = CorrectorPrompt.make(for: r)
        var reply = CorrectorReply(corrector: name)
        reply.prompt = prompt.fullText
        var rng = SeededRNG(seed: UInt64(SHA256.digest(Array((prompt.user + r.imageHash).utf8)).prefix(8).reduce(0) { $0 << 8 | UInt64($1) }))
        let judged: OracleJudgement?
        do { judged = try r.env.oracleJudgement(of: r.review, rng: &rng) } catch let f as OracleJudgement.Failure {
            throw CorrectorError.unsupported(f.description)
        }
        guard let j = judged else { throw CorrectorError.unsupported("the oracle knows the card games and alfworld, not \(r.env.name)") }
        reply.answers = j.answers
        reply.verdict = j.correct.map { $0 ? .correct : .incorrect } ?? .none
        reply.possibleSolution = j.possibleSolution
        reply.targetFormula = j.targetFormula
        reply.correction = j.correction
        reply.failure = j.failure
        reply.rawReply = replyJSON(reply, prompt: prompt).serialized()
        reply.latency = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return reply
    }

    /// Card values named in a thought: numbers, or rank strings ("A", "J", "10").
    static func cardValues(_ v: JSONValue?) -> [Int]? { OracleJudgement.cardValues(v) }

    /// The reply as the JSON a chat corrector would send (the ledger's `reply` column).
    func replyJSON(_ r: CorrectorReply, prompt: CorrectorPrompt) -> JSONValue {
        var pairs: [(String, JSONValue)] = r.answers.enumerated().map { ("answer\($0.offset + 1)", .string($0.element)) }
        pairs.append(("evaluation", .string(r.verdict.rawValue)))
        if prompt.hasTarget {
            pairs.append(("possible_solution", .string(r.possibleSolution == false ? "NO" : "YES")))
            pairs.append(("target_formula", r.targetFormula.map { .string($0) } ?? .null))
        }
        pairs.append(("correction", r.correction ?? .null))
        return .object(pairs)
    }
}
