import Environments
import Foundation
import Support

/// The exact corrector for the card games: it answers GTR's questions from the true state and the exact solver
/// instead of looking at the image, and writes corrections in the expert's style (`Expert`). Deterministic: the
/// phrasing is drawn from a stream seeded by the request, so the same request always gets the same text.
///
/// Verdict rules (YES only when all hold):
/// * the card ranks in the thought equal the deal as a multiset (A = 1, J/Q/K = 10, order-free);
/// * the thought's `formula` field, when present, is the formula actually written;
/// * the formula it proposes uses each card once, makes the target number and starts with the written formula;
///   while the episode's target is determined it must be that target (GTR's question 3);
/// * the action is the next token of that formula, or `=` once the written formula is complete.
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
        switch r.env {
        case let g as Points24: try formulaGame(g, target: 24, solver: Solver.points24, r, prompt, &reply, &rng)
        case let g as EZPoints: try formulaGame(g, target: 12, solver: Expert.ezSolver, r, prompt, &reply, &rng)
        case let n as NumberLine: try numberLine(n, r, &reply, &rng)
        case let b as Blackjack: try blackjack(b, r, &reply, &rng)
        case let h as Household: household(h, r, &reply, &rng)
        default: throw CorrectorError.unsupported("the oracle knows the card games and alfworld, not \(r.env.name)")
        }
        reply.rawReply = replyJSON(reply, prompt: prompt).serialized()
        reply.latency = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return reply
    }

    // MARK: formula games

    func formulaGame(_ g: FormulaCardGame, target: Int, solver: Solver, _ r: CorrectionRequest, _ prompt: CorrectorPrompt,
                     _ reply: inout CorrectorReply, _ rng: inout SeededRNG) throws {
        let numbers = g.numbers
        let written = g.formula.filter { $0 != .blank }
        let writtenText = written.map(\.description).joined()
        let all = solver.solutions(numbers)
        let completing = all.filter { $0.completes(g.formula) }
        let cardNames = g.cards.map { Expert.rankName($0) }
        var answers: [String] = []

        // 1. The deal (and, while undetermined, the solver's formulas, as the tool would give them).
        var a1 = "The cards are \(Expert.list(cardNames))" + (cardNames.map { Int($0) } == numbers.map { Optional($0) } ? "." : " (values \(Expert.list(numbers.map(String.init)))).")
        if prompt.hasTarget && r.targetFormula == nil {
            a1 += all.isEmpty ? " No formula makes \(target) with them." : " The solver finds \(all.count) formula(s), e.g. \(all.prefix(3).map(\.text).joined(separator: ", "))."
        }
        answers.append(a1)

        // 2. Ranks named in the thought.
        let named = Self.cardValues(r.thought["cards"])
        let cardsOK = named.map { $0.sorted() == numbers.sorted() } ?? false
        answers.append(cardsOK ? "Yes, the thought names \(Expert.list(named!.map(String.init))), as dealt."
            : named.map { "No: the thought names \($0.isEmpty ? "no cards" : Expert.list($0.map(String.init))), but the deal is \(Expert.list(numbers.map(String.init)))." }
            ?? "No: the thought does not list the cards.")

        // 3. The proposed formula.
        let formulaField = r.thought["formula"]?.stringValue ?? r.thought["current formula"]?.stringValue
        let formulaFieldOK = formulaField.map { TargetFormula.normalize($0) == writtenText } ?? true
        let isSolution: ([FormulaToken]) -> Bool = { t in
            guard let v = try? FormulaEvaluator.evaluate(t), v == Rational(target) else { return false }
            return t.compactMap { if case let .number(n) = $0 { return n }; return nil }.sorted() == numbers.sorted()
        }
        let startsWithWritten: ([FormulaToken]) -> Bool = { t in t.count >= written.count && Array(t[0..<written.count]) == written }
        let tracked = r.targetFormula.flatMap { FormulaEvaluator.tokenize(TargetFormula.normalize($0)) }
            .flatMap { isSolution($0) && startsWithWritten($0) ? $0 : nil }
        let thoughtText = r.thought["thoughts"]?.stringValue ?? ""
        let proposals = TargetFormula.candidates(in: thoughtText).map(\.tokens).filter { isSolution($0) && startsWithWritten($0) }
        let complete = isSolution(written)
        let proposal: [FormulaToken]? = tracked.map { t in proposals.first { $0 == t } } ?? proposals.first
        let proposalOK: Bool
        var a3: String
        if complete {
            proposalOK = proposal != nil || proposals.isEmpty
            a3 = "The written formula \(writtenText) already uses every card and makes \(target)."
        } else if let p = proposal {
            proposalOK = true
            a3 = "The thought proposes \(Self.text(p)), which makes \(target) with every card once and starts with the current formula"
                + (tracked != nil ? " and matches the target formula." : ".")
        } else {
            proposalOK = false
            let offered = TargetFormula.candidates(in: thoughtText).map(\.text)
            a3 = offered.isEmpty ? "The thought proposes no complete formula." : "The thought's formula \(offered[0]) "
                + (tracked != nil ? "does not match the target formula \(Self.text(tracked!))." : "is not a solution that starts with the current formula.")
        }
        if !formulaFieldOK { a3 += " Its formula field '\(formulaField ?? "")' is not the written formula '\(writtenText)'." }
        answers.append(a3)

        // 4. The next token.
        let chosen: [FormulaToken]? = complete ? written : (proposal ?? tracked ?? completing.first?.forms(startingWith: g.formula).first)
        let next: String
        if let c = chosen { next = c.count > written.count ? c[written.count].description : "=" } else { next = "=" }
        let actionOK = r.agentAction == next
        var a4: String
        if complete { a4 = "The formula is complete, so the next action is '='." }
        else if chosen == nil { a4 = all.isEmpty ? "No formula makes \(target) with these cards; '=' ends the hand." : "The current formula \(writtenText) cannot be completed to \(target); '=' ends it." }
        else { a4 = "Following \(Self.text(chosen!)), the next token is '\(next)'." }
        a4 += actionOK ? " The thought's action agrees." : " The thought's action '\(r.agentAction ?? "none")' does not."
        answers.append(a4)
        // EZPoints asks three questions: cards (1 and 2 merged), formula, next token.
        if !prompt.hasTarget { answers = [answers[0] + " " + answers[1], answers[2], answers[3]] }

        reply.answers = Array(answers.prefix(prompt.questionCount))
        let ok = cardsOK && formulaFieldOK && proposalOK && actionOK
        reply.verdict = ok ? .correct : .incorrect
        if prompt.hasTarget { reply.possibleSolution = !all.isEmpty }
        reply.targetFormula = chosen.map(Self.text)
        if !ok && !(prompt.hasTarget && all.isEmpty) {
            let e = try Expert.answer(r.env, rng: &rng, targetFormula: chosen)
            reply.correction = try Self.correction(from: e.text, agentAction: r.agentAction)
        }
    }

    static func text(_ t: [FormulaToken]) -> String { t.map(\.description).joined() }

    /// Card values named in a thought: numbers, or rank strings ("A", "J", "10").
    static func cardValues(_ v: JSONValue?) -> [Int]? {
        guard case let .array(items)? = v else { return nil }
        var out: [Int] = []
        for item in items {
            switch item {
            case let .number(n): out.append(n >= 11 && n <= 13 ? 10 : Int(n))
            case let .string(s): guard let n = CorrectorPrompt.rankValue(s) else { return nil }; out.append(n)
            default: return nil
            }
        }
        return out
    }

    /// The expert's JSON with its action replaced by the agent's own (GTR keeps the executed action).
    static func correction(from expertText: String, agentAction: String?) throws -> JSONValue {
        guard case var .object(pairs) = try JSONParser.parse(expertText) else { throw CorrectorError.unsupported("expert output is not an object") }
        pairs.removeAll { $0.0 == "action" }
        if let a = agentAction { pairs.append(("action", .string(a))) }
        return .object(pairs)
    }

    // MARK: NumberLine and Blackjack

    func numberLine(_ n: NumberLine, _ r: CorrectionRequest, _ reply: inout CorrectorReply, _ rng: inout SeededRNG) throws {
        let cur = r.thought["current number"]?.numberValue.map { Int($0) }
        let tgt = r.thought["target number"]?.numberValue.map { Int($0) }
        let stateOK = cur == n.position && tgt == n.goal
        let right = n.goal > n.position ? "+" : "-"
        let actionOK = n.goal == n.position || r.agentAction == right
        reply.answers = [
            "The current number is \(n.position) and the target is \(n.goal); "
                + (stateOK ? "the thought states them correctly." : "the thought says \(cur.map(String.init) ?? "nothing") and \(tgt.map(String.init) ?? "nothing")."),
            n.goal == n.position ? "The numbers are equal: the game is won." : "'\(right)' moves \(n.position) toward \(n.goal); the thought chose '\(r.agentAction ?? "none")'.",
        ]
        reply.verdict = stateOK && actionOK ? .correct : .incorrect
        if reply.verdict == .incorrect { reply.correction = try Self.correction(from: try Expert.answer(n, rng: &rng).text, agentAction: r.agentAction) }
    }

    func blackjack(_ b: Blackjack, _ r: CorrectionRequest, _ reply: inout CorrectorReply, _ rng: inout SeededRNG) throws {
        let text = r.thought["thoughts"]?.stringValue ?? ""
        let mentioned = Set(text.split { !$0.isNumber }.compactMap { Int($0) })
        let total = b.playerTotal
        let up = b.dealer.first.map { $0.value == 1 ? 11 : $0.value } ?? 0
        let totalOK = mentioned.contains(total)
        let right = Expert.blackjackAction(b)
        let actionOK = r.agentAction == right
        reply.answers = [
            "The player holds \(Expert.list(b.player.map(\.face))) for \(total)\(b.hasUsableAce ? " (soft)" : ""); the dealer shows \(b.dealer.first?.face ?? "?") (\(up)). "
                + (totalOK ? "The thought states the player's total." : "The thought does not state the player's total \(total)."),
            "Basic strategy says '\(right)'; the thought chose '\(r.agentAction ?? "none")'.",
        ]
        reply.verdict = totalOK && actionOK ? .correct : .incorrect
        if reply.verdict == .incorrect { reply.correction = try Self.correction(from: try Expert.answer(b, rng: &rng).text, agentAction: r.agentAction) }
    }

    /// ALFWorld (GTR §5.7's three questions), answered from the true state and the expert's plan. The action is
    /// right when it is the expert's next command or shortens the expert's remaining plan; the thought must name
    /// what the agent is at (or say it is in the middle of the room) and what it holds.
    func household(_ h: Household, _ r: CorrectionRequest, _ reply: inout CorrectorReply, _ rng: inout SeededRNG) {
        guard let w = h.world else { reply.verdict = .none; reply.failure = "no household episode"; return }
        let text = (r.thought["thoughts"]?.stringValue ?? "").lowercased()
        let here = w.here.map { w.name($0) }
        let held = w.state.holding.map { w.name($0) }
        let visible = w.here.flatMap { rec in w.objects.filter { w.state.inReceptacle[$0] == rec } }.map { w.name($0) }
        let placeOK = here.isEmpty ? (text.contains("middle") || !here.contains { text.contains($0) }) : here.contains { text.contains($0) }
        let heldOK = held.map { text.contains($0) || text.contains(String($0.split(separator: " ")[0])) } ?? !text.contains("holding a")
        let a1 = (here.isEmpty ? "The player is in the middle of the room" : "The player is at \(HouseholdWorld.list(here, article: false))")
            + (visible.isEmpty ? "" : ", where it sees \(HouseholdWorld.list(visible))") + "; it holds \(held ?? "nothing"). "
            + (placeOK && heldOK ? "The thought describes this correctly." : "The thought does not describe this correctly.")
        let plan = HouseholdExpert.plan(w)
        let next = plan.first
        let a2 = next.map { "Toward '\(h.task)', the next step is '\($0)' (\(plan.count) step(s) left)." } ?? "The task is already done."
        var actionOK = false
        if let a = r.agentAction, w.admissibleCommands.contains(a) {
            if a == next { actionOK = true } else {
                let trial = HouseholdWorld(copying: w)
                trial.execute(a)
                actionOK = trial.won || (HouseholdExpert.plan(trial).count < plan.count && !HouseholdExpert.plan(trial).isEmpty)
            }
        }
        let a3 = actionOK ? "'\(r.agentAction ?? "")' brings the player closer to the task." : "'\(r.agentAction ?? "none")' "
            + (r.agentAction.map { w.admissibleCommands.contains($0) } ?? false ? "does not bring the player closer to the task." : "is not an admissible action.")
        reply.answers = [a1, a2, a3]
        reply.verdict = placeOK && heldOK && actionOK ? .correct : .incorrect
        guard reply.verdict == .incorrect, next != nil, let e = try? Expert.answer(h, rng: &rng) else { return }
        reply.correction = try? Self.correction(from: e.text, agentAction: r.agentAction)
    }

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
