import Support

/// The oracle for ALFWorld (GTR §5.7's three questions), answered from the true state and the expert's plan. The
/// action is right when it is the expert's next command or shortens the expert's remaining plan; the thought must
/// name what the agent is at (or say it is in the middle of the room) and what it holds.
extension Household: OracleJudged {
    func judge(_ r: ReviewedThought, rng: inout SeededRNG) throws -> OracleJudgement {
        var j = OracleJudgement()
        guard let w = world else { j.failure = "no household episode"; return j }
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
        let a2 = next.map { "Toward '\(task)', the next step is '\($0)' (\(plan.count) step(s) left)." } ?? "The task is already done."
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
        j.answers = [a1, a2, a3]
        j.correct = placeOK && heldOK && actionOK
        guard j.correct == false, next != nil, let e = try? Expert.answer(self, rng: &rng) else { return j }
        j.correction = try? OracleJudgement.correction(from: e.text, agentAction: r.agentAction)
        return j
    }
}
