import Environments
import Foundation
import Support
import Testing
@testable import Agents
@testable import Training

@Suite struct ExpertTests {
    /// Following its own actions, the Points24 expert solves every solvable hand and writes valid GTR JSON that
    /// names the deal and the current formula at every step.
    @Test func points24ExpertSolvesAndWritesValidJSON() throws {
        var rng = SeededRNG(seed: 1)
        var solved = 0, solvable = 0
        var thoughts = Set<String>()
        for seed in 0..<150 as Range<UInt64> {
            let e = Points24()
            try e.reset(seed: seed)
            let canSolve = e.solver.solvable(e.numbers)
            var ret = 0.0
            while !e.isDone {
                let a = try Expert.answer(e, rng: &rng)
                let parse = e.strictParse(a.text)
                #expect(parse.valid, "\(a.text)")
                #expect(parse.json?["formula"]?.stringValue == e.formulaText)
                #expect(StateFacts.of(e).recognised(by: parse.json) == true)
                #expect(e.project(a.text).action == a.action)
                #expect(a.thought.contains(Expert.rankName(e.cards[0])))
                thoughts.insert(a.thought.replacingOccurrences(of: #"[0-9AJQK()+\-*/=]"#, with: "", options: .regularExpression))
                ret += try e.step(a.action).reward
            }
            if canSolve { solvable += 1; if ret > 0 { solved += 1 } }
        }
        #expect(solvable > 100 && solved == solvable)
        // several phrasings, not one template
        #expect(thoughts.count >= 8)
    }

    @Test(arguments: ["ezpoints", "numberline", "blackjack"])
    func otherExpertsPlayWell(name: String) throws {
        var rng = SeededRNG(seed: 2)
        var wins = 0
        let n = 200
        for seed in 0..<UInt64(n) {
            let e = try EnvironmentRegistry.make(name)
            try e.reset(seed: seed)
            var ret = 0.0
            while !e.isDone {
                let a = try Expert.answer(e, rng: &rng)
                #expect(e.strictParse(a.text).valid, "\(a.text)")
                ret += try e.step(a.action).reward
            }
            if ret > 0 { wins += 1 }
        }
        // EZPoints and NumberLine are always won; basic strategy wins about 43 % of blackjack hands
        if name == "blackjack" { #expect(wins > n * 35 / 100) } else { #expect(wins == n) }
    }

    @Test func expertDataIsSeededAndCardsAreRecognisable() throws {
        let a = try ExpertData.collect(env: "points24", steps: 40, seed: 9, options: ["solvable_only": "true"])
        let b = try ExpertData.collect(env: "points24", steps: 40, seed: 9, options: ["solvable_only": "true"])
        #expect(a.count == 40 && a.map(\.answer) == b.map(\.answer))
        #expect(a.allSatisfy { $0.input.image.width == 300 && $0.truth.cards?.count == 4 })
    }

    @Test func diversityMetrics() {
        let same = Array(repeating: "the formula is 10 * 2 + 4", count: 5)
        #expect(ThoughtDiversity.selfBLEU(same) > 0.999)
        #expect(abs(ThoughtDiversity.distinct(same, n: 1) - 7.0 / 35.0) < 1e-9)
        let varied = ["I see a king and a five", "three cards make twenty four", "start with the bracket now", "divide ten by two first"]
        #expect(ThoughtDiversity.selfBLEU(varied) < 0.3)
        #expect(ThoughtDiversity.distinct(varied, n: 2) == 1)
        #expect(ThoughtDiversity.selfBLEU(["one text"]) == 1)
    }
}
