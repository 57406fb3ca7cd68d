import Foundation
import Support
import Testing
@testable import Environments

/// The definition of state relevance (`StateRelevance`), case by case, and on the expert's own thoughts.
@Suite struct StateRelevanceTests {
    let hand = [10, 5, 2, 10]

    @Test func namesTheCardsOutsideItsFormulas() {
        let r = StateRelevance.of(thought: "My cards: Q, 5, 2 and K (values 10, 5, 2 and 10). Target formula: (10-5)*2+10.", cards: hand, written: "")
        #expect(r.namesCards && r.consistentFormula && r.relevant)
        // A formula alone uses the numbers but does not name the cards.
        let f = StateRelevance.of(thought: "Target formula: (10-5)*2+10.", cards: hand, written: "")
        #expect(!f.namesCards && f.consistentFormula && !f.relevant)
        // Card letters are not values; a card named too rarely is not named.
        #expect(!StateRelevance.of(thought: "I see Q, 5, 2 and K. So (10-5)*2+10", cards: hand, written: "").namesCards)
        #expect(!StateRelevance.of(thought: "values 10, 5 and 2. So (10-5)*2+10", cards: hand, written: "").namesCards)
        // Extra numbers do not hurt naming.
        #expect(StateRelevance.of(thought: "values 10, 5, 2, 10 and 24. (10-5)*2+10", cards: hand, written: "").relevant)
    }

    @Test func aFormulaMustUseTheHandAndExtendWhatIsWritten() {
        let names = "values 10, 5, 2 and 10. "
        // The part before `=` is the formula; spaces inside it are fine.
        #expect(StateRelevance.of(thought: names + "A solution is 10 + 10 + 5 - 2 = 23.", cards: hand, written: "").consistentFormula)
        // A card used more often than dealt, or a value not dealt.
        #expect(!StateRelevance.of(thought: names + "A solution is 10+10+5+5 = 30.", cards: hand, written: "").consistentFormula)
        #expect(!StateRelevance.of(thought: names + "Try 3*8.", cards: hand, written: "").consistentFormula)
        // It must begin with the formula written so far (spaces ignored).
        #expect(StateRelevance.of(thought: names + "Following (10-5)*2+10, next is '-'.", cards: hand, written: "(10").consistentFormula)
        #expect(StateRelevance.of(thought: names + "Following (10 - 5)*2+10, next is '-'.", cards: hand, written: "(10").consistentFormula)
        #expect(!StateRelevance.of(thought: names + "Following 10*2+5-10, next is '*'.", cards: hand, written: "(10").consistentFormula)
        // No operator: not a formula.
        #expect(!StateRelevance.of(thought: names + "I will play 10 next.", cards: hand, written: "").consistentFormula)
        // A bracket alone is not a formula either.
        #expect(!StateRelevance.of(thought: names + "so '(' to open a bracket", cards: hand, written: "").consistentFormula)
    }

    @Test func theExpertsThoughtsAreRelevantAndOtherGamesHaveNone() throws {
        var rng = SeededRNG(seed: 7)
        var judged = 0
        for seed in 0..<40 {
            let env = Points24()
            env.renderFrames = false
            try env.reset(seed: UInt64(seed), options: ["solvable_only": "true"])
            while !env.isDone {
                let a = try Expert.answer(env, rng: &rng)
                let r = try #require(env.stateRelevance(of: a.thought))
                #expect(r.relevant, "deal \(env.numbers), written '\(env.formulaText)': \(a.thought)")
                judged += 1
                _ = try env.step(a.action)
            }
        }
        #expect(judged > 100)
        // A thought about another deal is not relevant to this one.
        let env = Points24()
        try env.reset(seed: 0, options: ["cards": "H4,S6,D1,C1"])
        #expect(env.stateRelevance(of: "values 10, 5, 2 and 10. (10-5)*2+10")?.relevant == false)
        let nl = NumberLine()
        try nl.reset(seed: 0, options: [:])
        #expect(nl.stateRelevance(of: "anything 1+2") == nil)
    }
}
