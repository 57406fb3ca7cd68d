import Testing
@testable import Environments
import Support

@Suite struct EZPointsTests {
    @Test func rules() throws {
        let env = EZPoints()
        try env.reset(seed: 0, options: ["cards": "H3,SA"])
        #expect(env.actions == ["1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "+", "*", "="])
        _ = try env.step("3"); _ = try env.step("+")
        #expect(try env.step("3").reward == -1)  // reuse
        try env.reset(seed: 0, options: ["cards": "H3,S4"])
        for t in ["3", "*", "4"] { _ = try env.step(t) }
        #expect(try env.step("=").reward == 10)
        try env.reset(seed: 0, options: ["cards": "H3,S4"])
        for t in ["3", "*"] { _ = try env.step(t) }
        #expect(try env.step("=").reward == -1)  // malformed and not both cards
        // length > 5 truncates
        try env.reset(seed: 0, options: ["cards": "H3,S4"])
        for _ in 0..<6 { #expect(try env.step("+").reward == 0) }
        let r = try env.step("+")
        #expect(r.truncated && r.reward == -1)
    }

    @Test func dealsAlwaysMakeTwelve() throws {
        let env = EZPoints()
        let s = Solver(target: 12, operators: ["+", "*"])
        for seed in 0..<300 as Range<UInt64> {
            try env.reset(seed: seed, options: [:])
            #expect(s.solvable(env.numbers), "seed \(seed): \(env.cards)")
        }
    }
}

@Suite struct NumberLineTests {
    @Test func rules() throws {
        let env = NumberLine()
        try env.reset(seed: 0, options: ["start": "2", "target": "4"])
        var r = try env.step("+")
        #expect(r.reward == 0 && !r.done)
        r = try env.step("-")
        #expect(r.reward == -1)  // moved away
        _ = try env.step("+")
        r = try env.step("+")
        #expect(r.reward == 1 && r.terminated)
        #expect(r.info.serialized() == #"{"Target":4,"Current":4}"#)
        // bumping the boundary does not reduce the distance
        try env.reset(seed: 0, options: ["start": "0", "target": "3"])
        #expect(try env.step("-").reward == -1)
        // truncated after 2·max steps
        try env.reset(seed: 0, options: ["start": "0", "target": "5"])
        var last: StepResult?
        for _ in 0..<10 { last = try env.step("-") }
        #expect(last?.truncated == true)
    }

    @Test func resetNeverStartsOnTarget() throws {
        let env = NumberLine()
        for s in 0..<200 as Range<UInt64> {
            try env.reset(seed: s, options: [:])
            #expect(env.position != env.goal)
        }
    }
}

@Suite struct BlackjackTests {
    @Test func rulesAndScores() throws {
        let env = Blackjack()
        var wins = 0, losses = 0, draws = 0
        for s in 0..<400 as Range<UInt64> {
            try env.reset(seed: s, options: [:])
            #expect(env.player.count == 2 && env.dealer.count == 2)
            let r = try env.step("stand")
            #expect(r.terminated)
            let d = Blackjack.sumHand(env.dealer)
            #expect(d >= 17)
            let (ps, ds) = (Blackjack.score(env.player), Blackjack.score(env.dealer))
            #expect(r.reward == (ps > ds ? 1 : (ps < ds ? -1 : 0)))
            if r.reward > 0 { wins += 1 } else if r.reward < 0 { losses += 1 } else { draws += 1 }
        }
        #expect(wins > 0 && losses > 0 && draws > 0)
        // hitting until bust gives -1 and ends the episode
        try env.reset(seed: 7, options: [:])
        var r = try env.step("hit")
        while !r.done { r = try env.step("hit") }
        #expect(r.reward == -1 && Blackjack.sumHand(env.player) > 21)
        // faces of value 10 are J/Q/K, never T
        #expect(!env.player.contains { $0.face == "T" || $0.face == "10" })
    }

    @Test func usableAce() {
        let a = Blackjack.Drawn(value: 1, face: "A", suit: .hearts), k = Blackjack.Drawn(value: 10, face: "K", suit: .spades)
        #expect(Blackjack.sumHand([a, k]) == 21)
        #expect(Blackjack.sumHand([a, k, k]) == 21)
        #expect(Blackjack.sumHand([a, a]) == 12)
    }
}

@Suite struct DeterminismTests {
    @Test func rngIsPinned() {
        var r = SeededRNG(seed: 42)
        let v = (0..<3).map { _ in r.next() }
        var r2 = SeededRNG(seed: 42)
        #expect(v == (0..<3).map { _ in r2.next() })
        var r3 = SeededRNG(seed: 1)
        #expect((0..<1000).map { _ in r3.int(in: 1...13) }.allSatisfy { (1...13).contains($0) })
    }

    @Test func cloneIsIndependent() throws {
        let env = Points24()
        try env.reset(seed: 9, options: [:])
        let c = env.clone() as! Points24
        _ = try env.step("1")
        #expect(c.formula.isEmpty && env.formula.count == 1)
        #expect(c.cards == env.cards)
    }
}
