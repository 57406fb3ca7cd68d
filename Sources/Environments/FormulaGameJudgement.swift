import Support

/// The oracle for Points24 and EZPoints. YES only when all hold:
/// * the card ranks in the thought equal the deal as a multiset (A = 1, J/Q/K = 10, order-free);
/// * the thought's `formula` field, when present, is the formula actually written;
/// * the formula it proposes uses each card once, makes the target number and starts with the written formula;
///   while the episode's target is determined it must be that target (GTR's question 3);
/// * the action is the next token of that formula, or `=` once the written formula is complete.
extension Points24: OracleJudged {
    func judge(_ r: ReviewedThought, rng: inout SeededRNG) throws -> OracleJudgement {
        try judgeFormula(r, env: self, rng: &rng)
    }
}

extension EZPoints: OracleJudged {
    func judge(_ r: ReviewedThought, rng: inout SeededRNG) throws -> OracleJudgement {
        try judgeFormula(r, env: self, rng: &rng)
    }
}

extension FormulaCardGame {
    /// Answers the formula game's questions: Points24 asks four and has a target formula (`tracksTargetFormula`),
    /// EZPoints asks three (cards and ranks merged).
    func judgeFormula(_ r: ReviewedThought, env: Environment, rng: inout SeededRNG) throws -> OracleJudgement {
        let hasTarget = env.tracksTargetFormula
        var j = OracleJudgement()
        let written = formula.filter { $0 != .blank }
        let writtenText = written.map(\.description).joined()
        let all = solver.solutions(numbers)
        let completing = all.filter { $0.completes(formula) }
        let cardNames = cards.map { Expert.rankName($0) }
        var answers: [String] = []

        // 1. The deal (and, while undetermined, the solver's formulas, as the tool would give them).
        var a1 = "The cards are \(Expert.list(cardNames))" + (cardNames.map { Int($0) } == numbers.map { Optional($0) } ? "." : " (values \(Expert.list(numbers.map(String.init)))).")
        if hasTarget && r.targetFormula == nil {
            a1 += all.isEmpty ? " No formula makes \(target) with them." : " The solver finds \(all.count) formula(s), e.g. \(all.prefix(3).map(\.text).joined(separator: ", "))."
        }
        answers.append(a1)

        // 2. Ranks named in the thought.
        let named = OracleJudgement.cardValues(r.thought["cards"])
        let cardsOK = named.map { $0.sorted() == numbers.sorted() } ?? false
        answers.append(cardsOK ? "Yes, the thought names \(Expert.list(named!.map(String.init))), as dealt."
            : named.map { "No: the thought names \($0.isEmpty ? "no cards" : Expert.list($0.map(String.init))), but the deal is \(Expert.list(numbers.map(String.init)))." }
            ?? "No: the thought does not list the cards.")

        // 3. The proposed formula.
        let formulaField = r.thought["formula"]?.stringValue ?? r.thought["current formula"]?.stringValue
        let formulaFieldOK = formulaField.map { FormulaText.normalize($0) == writtenText } ?? true
        let isSolution: ([FormulaToken]) -> Bool = { [target, numbers] t in
            guard let v = try? FormulaEvaluator.evaluate(t), v == Rational(target) else { return false }
            return t.compactMap { if case let .number(n) = $0 { return n }; return nil }.sorted() == numbers.sorted()
        }
        let startsWithWritten: ([FormulaToken]) -> Bool = { t in t.count >= written.count && Array(t[0..<written.count]) == written }
        let tracked = r.targetFormula.flatMap { FormulaEvaluator.tokenize(FormulaText.normalize($0)) }
            .flatMap { isSolution($0) && startsWithWritten($0) ? $0 : nil }
        let thoughtText = r.thought["thoughts"]?.stringValue ?? ""
        let proposals = FormulaText.candidates(in: thoughtText).map(\.tokens).filter { isSolution($0) && startsWithWritten($0) }
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
            let offered = FormulaText.candidates(in: thoughtText).map(\.text)
            a3 = offered.isEmpty ? "The thought proposes no complete formula." : "The thought's formula \(offered[0]) "
                + (tracked != nil ? "does not match the target formula \(Self.text(tracked!))." : "is not a solution that starts with the current formula.")
        }
        if !formulaFieldOK { a3 += " Its formula field '\(formulaField ?? "")' is not the written formula '\(writtenText)'." }
        answers.append(a3)

        // 4. The next token.
        let chosen: [FormulaToken]? = complete ? written : (proposal ?? tracked ?? completing.first?.forms(startingWith: formula).first)
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
        if !hasTarget { answers = [answers[0] + " " + answers[1], answers[2], answers[3]] }

        j.answers = answers
        let ok = cardsOK && formulaFieldOK && proposalOK && actionOK
        j.correct = ok
        if hasTarget { j.possibleSolution = !all.isEmpty }
        j.targetFormula = chosen.map(Self.text)
        if !ok && !(hasTarget && all.isEmpty) {
            let e = try Expert.answer(env, rng: &rng, targetFormula: chosen)
            j.correction = try OracleJudgement.correction(from: e.text, agentAction: r.agentAction)
        }
        return j
    }

    static func text(_ t: [FormulaToken]) -> String { t.map(\.description).joined() }
}
