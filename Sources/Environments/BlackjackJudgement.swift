import Support

/// The oracle for Blackjack: YES when the thought states the player's total and the action is basic strategy's.
extension Blackjack: OracleJudged {
    func judge(_ r: ReviewedThought, rng: inout SeededRNG) throws -> OracleJudgement {
        var j = OracleJudgement()
        let text = r.thought["thoughts"]?.stringValue ?? ""
        let mentioned = Set(text.split { !$0.isNumber }.compactMap { Int($0) })
        let total = playerTotal
        let up = dealer.first.map { $0.value == 1 ? 11 : $0.value } ?? 0
        let totalOK = mentioned.contains(total)
        let right = Expert.blackjackAction(self)
        let actionOK = r.agentAction == right
        j.answers = [
            "The player holds \(Expert.list(player.map(\.face))) for \(total)\(hasUsableAce ? " (soft)" : ""); the dealer shows \(dealer.first?.face ?? "?") (\(up)). "
                + (totalOK ? "The thought states the player's total." : "The thought does not state the player's total \(total)."),
            "Basic strategy says '\(right)'; the thought chose '\(r.agentAction ?? "none")'.",
        ]
        j.correct = totalOK && actionOK
        if j.correct == false { j.correction = try OracleJudgement.correction(from: try Expert.answer(self, rng: &rng).text, agentAction: r.agentAction) }
        return j
    }
}
