import Environments
import Foundation
import Support

/// A person as the corrector: asked for the verdict, then given the thought to rewrite. The shell supplies the
/// two interactions (its line editor, or `$EDITOR`); a rewritten thought must still be a JSON object with the
/// env's keys, and is asked for again (three tries) when it is not.
public final class HumanCorrector: Corrector {
    public let name = "human"
    public let identity = "human"
    /// A person may judge the same thought differently the second time, so live answers are not reused
    /// (replays still read the logged ones).
    public let cacheable = false
    /// Shows a question and returns the typed line (nil = cancelled).
    let ask: (String) -> String?
    /// Returns the edited text for an initial text (nil = cancelled).
    let edit: (String) -> String?
    /// Tells the person why an answer was not accepted.
    let report: (String) -> Void

    public init(ask: @escaping (String) -> String?, edit: @escaping (String) -> String?, report: @escaping (String) -> Void = { _ in }) {
        self.ask = ask; self.edit = edit; self.report = report
    }

    public func correct(_ r: CorrectionRequest) throws -> CorrectorReply {
        let t0 = Date()
        var reply = CorrectorReply(corrector: name)
        reply.prompt = CorrectorPrompt.make(for: r).fullText
        var verdict: Bool?
        for _ in 0..<3 where verdict == nil {
            guard let line = ask("is the thought correct? [y/n] ") else { throw CorrectorError.cancelled }
            switch line.trimmingCharacters(in: .whitespaces).lowercased() {
            case "y", "yes": verdict = true
            case "n", "no": verdict = false
            default: report("answer y or n"); continue
            }
        }
        guard let v = verdict else { throw CorrectorError.badConfig("expected y or n") }
        reply.answers = [v ? "Judged correct by a person." : "Judged incorrect by a person."]
        reply.verdict = v ? .correct : .incorrect
        if v, let proposal = TargetFormula.candidates(in: r.thought["thoughts"]?.stringValue ?? "").first {
            reply.targetFormula = proposal.text
        }
        if !v {
            var problem = ""
            for _ in 0..<3 {
                if !problem.isEmpty { report("not usable (\(problem)); try again") }
                guard let text = edit(r.thoughtText) else { throw CorrectorError.cancelled }
                do {
                    guard case var .object(pairs) = try JSONParser.parse(text) else { problem = "not a JSON object"; continue }
                    let missing = r.env.requiredKeys.filter { k in k != "action" && !pairs.contains { $0.0 == k } }
                    guard missing.isEmpty else { problem = "missing keys: \(missing.joined(separator: ", "))"; continue }
                    pairs.removeAll { $0.0 == "action" }
                    if let a = r.agentAction { pairs.append(("action", .string(a))) }
                    reply.correction = .object(pairs)
                    reply.targetFormula = TargetFormula.candidates(in: pairs.first { $0.0 == "thoughts" }?.1.stringValue ?? "").first?.text
                    problem = ""
                    break
                } catch { problem = "\(error)" }
            }
            if reply.correction == nil { reply.failure = "no correction: the edited thought was not usable (\(problem))" }
        }
        reply.rawReply = (reply.correction ?? .null).serialized()
        reply.latency = Date().timeIntervalSince(t0)
        return reply
    }
}
