import Agents
import Environments
import Episodes
import Foundation
import Support

/// Editing the agent's thought and acting from it. One rule joins a thought and an action everywhere: the
/// *editable thought* is the JSON text before `"action":` with the separator stripped (`{"cards": […], …,
/// "thoughts": "…"`), and an action is always written after it as `, "action": "A"}` + EOS. `rescore` scores the
/// legal actions with exactly those continuations, and `act from-thought` draws from exactly that distribution
/// (greedy: its top action), so the action played is one rescore showed, with the probability it showed.
extension AgentTurn {
    /// The text before the last `"action":` with trailing blanks and the separating comma removed.
    static func canonicalThought(_ text: String) -> String {
        var t = text
        if let r = t.range(of: "\"action\":", options: .backwards) { t = String(t[..<r.lowerBound]) }
        while let c = t.last, c == " " || c == "\n" || c == "\t" || c == "," { t.removeLast() }
        return t
    }

    /// What `thought edit` opens and `thought` shows: the model's thought, or the edit, in canonical form.
    var editableThought: String { editedThought ?? AgentTurn.canonicalThought(output.text) }

    /// The output as it stands: the model's, or the edited thought followed by the model's own action part.
    var currentText: String {
        guard let e = editedThought else { return output.text }
        return actionText.isEmpty ? e : e + ", " + actionText
    }

    /// The full output that writes `action` after the editable thought.
    func text(withAction action: String) -> String {
        editableThought + ", \"action\": " + JSONValue.string(action).serialized() + "}"
    }
}

/// The legal actions written after one thought, with their probabilities under the policy.
struct ActionContinuations {
    var actions: [String]
    var texts: [String]
    var tokenIDs: [[Int32]]
    var evaluations: [PolicyEvaluation]
    /// P(action | thought), normalised over the legal actions.
    var probabilities: [Double]
    /// Σ P(the action part | thought): how likely the model is to write some legal action in format at all.
    var formatMass: Double
}

extension Shell {
    func thoughtCommand(_ a: Arguments) throws {
        guard var turn = agent.turn else { throw CommandError("no thought yet: think or step first") }
        switch a.positional.first {
        case nil:
            try showTokens(turn)
        case "set":
            guard a.positional.count == 2 else { throw CommandError("usage: thought set \"TEXT\" (quote the whole thought)") }
            turn.editedThought = try normalisedEdit(a.positional[1])
            agent.turn = turn
            try logEdit(turn)
        default:  // edit
            guard a.positional.count == 1 else { throw CommandError("usage: thought edit") }
            let old = turn.editableThought
            let new: String
            if let logged = replayEdits[seq] {
                new = logged  // the logged edit stands for the line typed for it
                inputsRead = replayInputs?[seq]?.count ?? 0
            } else if let editor = ProcessInfo.processInfo.environment["EDITOR"], !editor.isEmpty, config.interactive {
                new = try editInEditor(old, editor: editor)
            } else {
                guard lineSource != nil || replayInputs != nil else { throw CommandError("thought edit needs input (in scripts use thought set \"...\")") }
                guard let line = readInput(prompt: "thought> ", initial: old) else { throw CommandError("edit cancelled; thought unchanged") }
                new = line
            }
            turn.editedThought = try normalisedEdit(new)
            agent.turn = turn
            try logEdit(turn)
        }
    }

    /// An edit in canonical form: an action the user left in (`, "action": …}`) is dropped, since the action is
    /// what rescore and act from-thought choose.
    func normalisedEdit(_ text: String) throws -> String {
        let t = AgentTurn.canonicalThought(text)
        guard !t.trimmingCharacters(in: .whitespaces).isEmpty else { throw CommandError("empty thought: nothing changed") }
        return t
    }

    /// Logs the edit as a generation of kind `edit` (its text is the editable thought, so a replay and `save
    /// script` reproduce it exactly) and keeps the runnable form for `save script`.
    func logEdit(_ turn: AgentTurn) throws {
        let m = try requireModel()
        let thought = turn.editableThought
        let ids = m.encode(thought)
        let ev = try m.evaluate(turn.input, outputTokens: ids, lambda: agent.lambda, temperature: scoringTemperature)
        logGeneration(kind: "edit", turn: turn, text: thought, ids: ids, lps: ev.tokenLogProbs, thought: ev.thoughtLogProb, action: nil, value: ev.value)
        scriptEquivalents[seq] = ["thought set " + Shell.quoted(thought)]
        out("thought edited (\(ids.count) tokens): rescore shows the actions after it, act from-thought plays one of them")
    }

    /// A double-quoted word of the command language holding `s` exactly (`CommandWord.quoted`).
    static func quoted(_ s: String) -> String { CommandWord.quoted(s) }

    var scoringTemperature: Float { agent.generation.greedy && agent.generation.temperature <= 0 ? 1 : agent.generation.temperature }

    func editInEditor(_ text: String, editor: String) throws -> String {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("gtr-thought-\(getpid()).txt")
        do { try text.write(to: file, atomically: true, encoding: .utf8) } catch { throw CommandError("cannot write a temporary file for $EDITOR: \(fileProblem(file, error))") }
        defer { try? FileManager.default.removeItem(at: file) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", "\(editor) \"$1\"", "sh", file.path]
        do { try p.run() } catch { throw CommandError("cannot start $EDITOR (\(editor))") }
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw CommandError("$EDITOR exited with status \(p.terminationStatus); thought unchanged") }
        let s = (try? String(contentsOf: file, encoding: .utf8)) ?? text
        return s.hasSuffix("\n") ? String(s.dropLast()) : s
    }

    /// Scores every legal action written after `thought` (one batch): `thought, "action": "A"}` + EOS.
    func continuations(_ m: Policy, _ turn: AgentTurn, thought: String) throws -> ActionContinuations {
        var t = turn
        t.editedThought = thought
        let actions = turn.env.legalActions
        guard !actions.isEmpty else { throw CommandError("no legal action in this state") }
        let texts = actions.map { t.text(withAction: $0) }
        let ids = texts.map { m.encode($0) + [m.endOfText] }
        let evs = try m.evaluate(turn.input, outputs: ids, lambda: agent.lambda, temperature: scoringTemperature)
        // Whole-sequence log-probs: the thought text is shared, so their softmax is P(action | thought).
        let totals = evs.map { Double($0.tokenLogProbs.reduce(0, +)) }
        let mx = totals.max() ?? 0
        let z = totals.map { exp($0 - mx) }.reduce(0, +)
        let mass = evs.map { exp(Double($0.actionLogProb)) }.reduce(0, +)
        return ActionContinuations(actions: actions, texts: texts, tokenIDs: ids, evaluations: evs,
                                   probabilities: totals.map { exp($0 - mx) / z }, formatMass: mass)
    }

    func rescore() throws {
        guard let turn = agent.turn else { throw CommandError("no thought yet: think or step first") }
        guard let edited = turn.editedThought else { throw CommandError("the thought is not edited: thought edit or thought set first") }
        let m = try requireModel()
        let original = AgentTurn.canonicalThought(turn.output.text)
        let before = try continuations(m, turn, thought: original)
        let after = try continuations(m, turn, thought: edited)
        let thoughtIDs = m.encode(edited)
        let ev = try m.evaluate(turn.input, outputTokens: thoughtIDs, lambda: agent.lambda, temperature: scoringTemperature)
        let o = turn.output
        out(String(format: "thought log-prob: original %.3f (%d tokens) → edited %.3f (%d tokens)", o.thoughtLogProb, o.spans.actionTokenStart,
                   ev.thoughtLogProb, thoughtIDs.count))
        out("action distribution over legal actions (original → edited thought):")
        let rows = (0..<before.actions.count).sorted { max(before.probabilities[$0], after.probabilities[$0]) > max(before.probabilities[$1], after.probabilities[$1]) }
        for k in rows.prefix(8) {
            let (p0, p1) = (before.probabilities[k], after.probabilities[k])
            let d = p1 - p0
            out(String(format: "  %-6@ %6.1f%% → %6.1f%%  (%@%.1f)", before.actions[k] as NSString, p0 * 100, p1 * 100, d >= 0 ? "+" : "", d * 100))
        }
        out(String(format: "probability of writing a legal action in format: %.3f → %.3f", before.formatMass, after.formatMass))
        let top = after.probabilities.indices.max { after.probabilities[$0] < after.probabilities[$1] }!
        out(agent.generation.greedy ? "act from-thought plays '\(after.actions[top])' (greedy: the top action)"
                                    : String(format: "act from-thought draws from the edited distribution (top: '%@' %.1f%%)", after.actions[top] as NSString, after.probabilities[top] * 100))
        let best = after.evaluations[top]
        logGeneration(kind: "rescore", turn: turn, text: after.texts[top], ids: after.tokenIDs[top], lps: best.tokenLogProbs,
                      thought: best.thoughtLogProb, action: best.actionLogProb, value: best.value)
    }

    /// Plays the action written after the (edited) thought: drawn from the distribution `rescore` shows
    /// (greedy: its top action), with the session's seeded generation stream.
    func actFromThought() throws {
        guard var turn = agent.turn else { throw CommandError("no thought yet: think or step first") }
        let m = try requireModel()
        let ep = try requireEpisode()
        guard turn.episode == ep.number, turn.t == ep.stepCount, !ep.isDone else {
            throw CommandError("the state changed since the thought (episode \(turn.episode) t=\(turn.t)); think again")
        }
        let c = try continuations(m, turn, thought: turn.editableThought)
        let g = nextGenerationConfig()
        var k = c.probabilities.indices.max { c.probabilities[$0] < c.probabilities[$1] }!
        if !g.greedy {
            var rng = SeededRNG(seed: g.seed)
            var u = rng.unit(), acc = 0.0
            for (i, p) in c.probabilities.enumerated() { acc += p; if u < acc { k = i; u = 2; break } }
        }
        let ev = c.evaluations[k]
        let out = PolicyOutput(text: c.texts[k], tokenIDs: c.tokenIDs[k], tokenLogProbs: ev.tokenLogProbs, behaviourLogProbs: ev.tokenLogProbs,
                               tokenEntropies: ev.tokenEntropies, spans: ev.spans, value: ev.value, finished: true)
        turn.output = out
        turn.editedThought = nil
        agent.turn = turn
        logGeneration(kind: "continue", turn: turn, text: out.text, ids: out.tokenIDs, lps: out.tokenLogProbs, thought: ev.thoughtLogProb,
                      action: ev.actionLogProb, value: ev.value)
        self.out(String(format: "continued: %@ (%.1f%% after this thought)", c.actions[k] as NSString, c.probabilities[k] * 100))
        try apply(.action(c.actions[k]), source: .agent)
    }
}
