import Support

/// The oracle for NumberLine: YES when the thought states the current and target numbers and the action moves
/// toward the target (any action once they are equal).
extension NumberLine: OracleJudged {
    func judge(_ r: ReviewedThought, rng: inout SeededRNG) throws -> OracleJudgement {
        var j = OracleJudgement()
        let cur = r.thought["current number"]?.numberValue.map { Int($0) }
        let tgt = r.thought["target number"]?.numberValue.map { Int($0) }
        let stateOK = cur == position && tgt == goal
        let right = goal > position ? "+" : "-"
        let actionOK = goal == position || r.agentAction == right
        j.answers = [
            "The current number is \(position) and the target is \(goal); "
                + (stateOK ? "the thought states them correctly." : "the thought says \(cur.map(String.init) ?? "nothing") and \(tgt.map(String.init) ?? "nothing")."),
            goal == position ? "The numbers are equal: the game is won." : "'\(right)' moves \(position) toward \(goal); the thought chose '\(r.agentAction ?? "none")'.",
        ]
        j.correct = stateOK && actionOK
        if j.correct == false { j.correction = try OracleJudgement.correction(from: try Expert.answer(self, rng: &rng).text, agentAction: r.agentAction) }
        return j
    }
}
