import Testing
@testable import Correctors
import Environments

@Suite struct HouseholdOracleTests {
    func env(_ task: HouseholdTask, seed: UInt64) throws -> Household {
        let h = Household()
        try h.reset(seed: seed, options: ["task": task.rawValue])
        return h
    }

    func output(_ thoughts: String, _ action: String) -> String { "{\"thoughts\": \"\(thoughts)\", \"action\": \"\(action)\"}" }

    @Test(arguments: HouseholdTask.allCases) func expertStepsAreJudgedCorrectAlongTheWholePlan(_ task: HouseholdTask) throws {
        let h = try env(task, seed: 4)
        let oracle = OracleCorrector()
        var steps = 0
        while let next = HouseholdExpert.next(h.world!), steps < 30 {
            let w = h.world!
            let place = w.here.isEmpty ? "I am in the middle of the room" : "I am at \(w.here.map(w.name).joined(separator: " and "))"
            let held = w.state.holding.map { ", holding the \(w.name($0))" } ?? ""
            let reply = try oracle.correct(try CorrectionRequest.from(env: h, output: output(place + held + ".", next), targetFormula: nil))
            #expect(reply.verdict == .correct, "\(task) step \(steps) '\(next)': \(reply.answers)")
            #expect(reply.answers.count == 3)
            _ = try h.step(next)
            steps += 1
        }
        #expect(h.won)
    }

    @Test func wrongActionsAndWrongDescriptionsAreCorrected() throws {
        let h = try env(.pickHeatThenPlace, seed: 4)
        let oracle = OracleCorrector()
        let next = HouseholdExpert.next(h.world!)!
        // An admissible action that does not help.
        let useless = h.legalActions.first { $0 == "inventory" }!
        let r1 = try oracle.correct(try CorrectionRequest.from(env: h, output: output("I am in the middle of the room.", useless), targetFormula: nil))
        #expect(r1.verdict == .incorrect)
        let c = try #require(r1.correction)
        #expect(c["action"]?.stringValue == useless)   // GTR keeps the agent's action
        #expect(c["thoughts"]?.stringValue?.contains(next) == true)
        #expect(r1.answers[1].contains(next))
        // Not admissible at all.
        let r2 = try oracle.correct(try CorrectionRequest.from(env: h, output: output("I am in the middle of the room.", "fly away"), targetFormula: nil))
        #expect(r2.verdict == .incorrect && r2.answers[2].contains("not an admissible action"))
        // Right action, but the thought claims a place the agent is not at.
        _ = try h.step(next)
        let next2 = HouseholdExpert.next(h.world!)!
        let r3 = try oracle.correct(try CorrectionRequest.from(env: h, output: output("I am in the middle of the room.", next2), targetFormula: nil))
        #expect(r3.verdict == .incorrect)
        // The prompt carries the task, the history and the admissible actions.
        let p = CorrectorPrompt.make(for: try CorrectionRequest.from(env: h, output: output("x", next2), targetFormula: nil))
        #expect(p.user.contains("[Task] \(h.task)") && p.user.contains("[Previous Actions] ['\(next)']") && p.user.contains("[The player's thought]"))
    }
}
