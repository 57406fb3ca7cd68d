import Testing
@testable import Environments
import Support

/// What the correctors and the trainer ask of every registered game, answered by the game itself: its corrector
/// questions, the oracle's judgement and the facts card recognition is scored against. A new game registered in
/// `EnvironmentRegistry` has to answer these too, and needs nothing outside `Environments` to do so.
@Suite struct GameCapabilityTests {
    /// The expert's output as the thought a corrector reviews (its action kept apart).
    func review(_ env: Environment, _ text: String, action: String, target: String? = nil) throws -> ReviewedThought {
        guard case let .object(pairs) = try JSONParser.parse(text) else { throw EnvironmentError.badOption("expert output is not an object") }
        return ReviewedThought(thought: .object(pairs.filter { $0.0 != "action" }), agentAction: action,
                               currentFormula: env.currentFormula, targetFormula: target, observationText: env.textObservation)
    }

    @Test(arguments: EnvironmentRegistry.names) func everyGameAnswersTheCorrectorsAndTheTrainer(_ name: String) throws {
        var judged = 0
        for seed in 0..<3 as Range<UInt64> {
            let env = try EnvironmentRegistry.make(name)
            try env.reset(seed: seed)
            var rng = SeededRNG(seed: seed)
            var steps = 0
            while !env.isDone, steps < 5, env.solvable != false {
                steps += 1
                let expert = try Expert.answer(env, rng: &rng)
                let r = try review(env, expert.text, action: expert.action)

                // The questions are the game's own, and the reply schema matches what the game tracks.
                let q = env.correctorQuestions(for: r)
                #expect(!q.system.isEmpty && !q.system.hasPrefix("You are judging the reasoning"), "\(name) has only the generic questions")
                #expect(q.user.contains(r.thoughtText), "\(name): the prompt does not show the thought")
                #expect(q.questionCount >= 2 && q.user.contains("\"answer\(q.questionCount)\"") && !q.user.contains("\"answer\(q.questionCount + 1)\""))
                #expect(q.hasTarget == env.tracksTargetFormula && q.hasTarget == q.user.contains("\"target_formula\""))
                #expect(q.offersTool == (q.hasTarget && r.targetFormula == nil))

                // The oracle accepts the expert, with one answer per question and nothing to correct.
                var orng = SeededRNG(seed: 9)
                let yes = try #require(try env.oracleJudgement(of: r, rng: &orng), "\(name) has no oracle")
                #expect(yes.correct == true, "\(name) seed \(seed) step \(steps): \(expert.text) → \(yes.answers)")
                #expect(yes.answers.count == q.questionCount && yes.correction == nil && yes.failure == nil)
                #expect((yes.possibleSolution != nil) == q.hasTarget)

                // A wrong action is a NO with a correction that is a valid thought keeping the agent's action.
                let wrong = env.actionsAreCommands ? "fly away" : env.legalActions.first { $0 != expert.action }!
                let no = try #require(try env.oracleJudgement(of: try review(env, expert.text, action: wrong), rng: &orng))
                #expect(no.correct == false && no.answers.count == q.questionCount, "\(name): \(no.answers)")
                let correction = try #require(no.correction, "\(name): no correction for a wrong action")
                #expect(env.strictParse(correction.serialized()).valid && correction["action"]?.stringValue == wrong)

                // What a perfect reader of the frame reports is what the expert wrote.
                #expect(env.stateFacts.recognised(by: try JSONParser.parse(expert.text)) != false, "\(name): \(env.stateFacts)")
                judged += 1
                _ = try env.step(expert.action)
            }
        }
        #expect(judged > 0)
    }

    @Test func cardGamesHaveFactsToRead() throws {
        for name in ["points24", "ezpoints", "numberline"] {
            let env = try EnvironmentRegistry.make(name)
            try env.reset(seed: 1)
            #expect(env.stateFacts != StateFacts() && env.stateFacts.recognised(by: nil) == false)
        }
    }
}
