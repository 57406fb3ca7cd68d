import Foundation
import Support
import Testing
@testable import Environments

/// The definition of state relevance (`StateRelevance`), case by case, and on the expert's own thoughts.
@Suite struct StateRelevanceTests {
    let hand = [10, 5, 2, 10]

    @Test func namesTheCardsOutsideItsFormulas() {
        let r = StateRelevance.of(thought: "My cards: Q, 5, 2 and K (values 10, 5, 2 and 10). Target formula: (10-5)*2+10.", cards: hand, written: "")
        #expect(r.namesState && r.consistent && r.relevant)
        // A formula alone uses the numbers but does not name the cards.
        let f = StateRelevance.of(thought: "Target formula: (10-5)*2+10.", cards: hand, written: "")
        #expect(!f.namesState && f.consistent && !f.relevant)
        // Card letters are not values; a card named too rarely is not named.
        #expect(!StateRelevance.of(thought: "I see Q, 5, 2 and K. So (10-5)*2+10", cards: hand, written: "").namesState)
        #expect(!StateRelevance.of(thought: "values 10, 5 and 2. So (10-5)*2+10", cards: hand, written: "").namesState)
        // Extra numbers do not hurt naming.
        #expect(StateRelevance.of(thought: "values 10, 5, 2, 10 and 24. (10-5)*2+10", cards: hand, written: "").relevant)
    }

    @Test func aFormulaMustUseTheHandAndExtendWhatIsWritten() {
        let names = "values 10, 5, 2 and 10. "
        // The part before `=` is the formula; spaces inside it are fine.
        #expect(StateRelevance.of(thought: names + "A solution is 10 + 10 + 5 - 2 = 23.", cards: hand, written: "").consistent)
        // A card used more often than dealt, or a value not dealt.
        #expect(!StateRelevance.of(thought: names + "A solution is 10+10+5+5 = 30.", cards: hand, written: "").consistent)
        #expect(!StateRelevance.of(thought: names + "Try 3*8.", cards: hand, written: "").consistent)
        // It must begin with the formula written so far (spaces ignored).
        #expect(StateRelevance.of(thought: names + "Following (10-5)*2+10, next is '-'.", cards: hand, written: "(10").consistent)
        #expect(StateRelevance.of(thought: names + "Following (10 - 5)*2+10, next is '-'.", cards: hand, written: "(10").consistent)
        #expect(!StateRelevance.of(thought: names + "Following 10*2+5-10, next is '*'.", cards: hand, written: "(10").consistent)
        // No operator: not a formula.
        #expect(!StateRelevance.of(thought: names + "I will play 10 next.", cards: hand, written: "").consistent)
        // A bracket alone is not a formula either.
        #expect(!StateRelevance.of(thought: names + "so '(' to open a bracket", cards: hand, written: "").consistent)
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
        // Household: the place and the task's object.
        #expect(StateRelevance.of(thought: "I am at countertop 1 and I see a Plate 1. Next: take plate 1", places: ["countertop 1"], objectType: "Plate").relevant)
        #expect(!StateRelevance.of(thought: "I am at countertop 2. Next: take plate 1", places: ["countertop 1"], objectType: "Plate").namesState)
        #expect(!StateRelevance.of(thought: "I am in the middle of the room. Go to fridge 1.", places: [], objectType: "Plate").consistent)
        #expect(StateRelevance.of(thought: "I am in the middle of the room. The plate may be in fridge 1.", places: [], objectType: "platetype").relevant)
        let h = Household()
        h.renderFrames = false
        try h.reset(seed: 3, options: [:])
        var hrng = SeededRNG(seed: 1)
        for _ in 0..<6 where !h.isDone {
            let a = try Expert.answer(h, rng: &hrng)
            #expect(h.stateRelevance(of: a.thought)?.relevant == true, "\(a.thought)")
            #expect(h.stateRelevance(of: "I am somewhere. Go on.")?.relevant == false)
            _ = try h.step(a.action)
        }
        let nl = NumberLine()
        try nl.reset(seed: 0, options: [:])
        #expect(nl.stateRelevance(of: "anything 1+2") == nil)
    }
}
