import Foundation
import Support
import Testing
@testable import Environments

/// Plays tokens on a fixed deal and returns the rewards, the last result and the env.
func play(_ cards: String, _ tokens: [String], options: [String: String] = [:]) throws -> ([Double], StepResult?, Points24) {
    let env = Points24()
    var o = options; o["cards"] = cards
    try env.reset(seed: 0, options: o)
    var rewards: [Double] = []
    var last: StepResult?
    for t in tokens { let r = try env.step(t); rewards.append(r.reward); last = r }
    return (rewards, last, env)
}

@Suite struct Points24RuleTests {
    @Test func exactRationalTwentyFour() throws {
        // 8/(3-8/3) = 24 exactly; float evaluation gives 23.999…
        let (r, last, _) = try play("H8,S3,D8,C3", ["8", "/", "(", "3", "-", "8", "/", "3", ")", "="])
        #expect(r.last == 10)
        #expect(last?.terminated == true)
    }

    @Test func rewardTable() throws {
        struct Row { let cards: String; let tokens: [String]; let last: Double; let done: Bool }
        let rows: [Row] = [
            Row(cards: "H4,S6,D1,C1", tokens: ["4", "*", "6", "*", "1", "*", "1", "="], last: 10, done: true),
            // `=` before all four cards are used: −1 even though 4*6 = 24
            Row(cards: "H4,S6,D1,C1", tokens: ["4", "*", "6", "="], last: -1, done: true),
            // wrong value
            Row(cards: "H4,S6,D1,C1", tokens: ["4", "+", "6", "+", "1", "+", "1", "="], last: -1, done: true),
            // malformed: dangling operator
            Row(cards: "H4,S6,D1,C1", tokens: ["4", "*", "6", "*", "1", "*", "1", "*", "="], last: -1, done: true),
            // division by zero inside
            Row(cards: "H4,S6,D1,C1", tokens: ["4", "/", "(", "1", "-", "1", ")", "*", "6", "="], last: -1, done: true),
            // unbalanced parentheses
            Row(cards: "H4,S6,D1,C1", tokens: ["(", "4", "*", "6", "*", "1", "*", "1", "="], last: -1, done: true),
            // nested parentheses that are fine
            Row(cards: "H4,S6,D1,C1", tokens: ["(", "(", "4", ")", "*", "(", "6", "*", "(", "1", "*", "1", ")", ")", ")", "="], last: 10, done: true),
            // number reuse: -1, blank appended, episode continues
            Row(cards: "H4,S6,D1,C1", tokens: ["4", "4"], last: -1, done: false),
            // face cards count as 10: J, Q, K usable as "10" three times
            Row(cards: "HJ,DQ,SK,C4", tokens: ["10", "+", "10", "+", "4", "="], last: -1, done: true),
            // two numbers in a row are not concatenated (gym-cards' eval would read 2,4 as 24)
            Row(cards: "H2,S4,D1,C1", tokens: ["2", "4", "*", "1", "*", "1", "="], last: -1, done: true),
            // unary minus, as Python's eval allows: -1+5*5 = 24 with all cards → 10 only if all four used
            Row(cards: "H1,S5,D5,CA", tokens: ["-", "1", "+", "5", "*", "5", "*", "1", "="], last: 10, done: true),
        ]
        for row in rows {
            let (r, last, env) = try play(row.cards, row.tokens)
            #expect(r.last == row.last, "\(row.tokens.joined()) on \(row.cards): \(r) info=\(env.info)")
            #expect(last?.done == row.done)
        }
    }

    @Test func reuseAppendsBlank() throws {
        let (_, _, env) = try play("H4,S6,D1,C1", ["4", "4"])
        #expect(env.formula == [.number(4), .blank])
        #expect(env.formulaText == "4 ")
    }

    @Test func truncationAfterTwentyEntries() throws {
        let env = Points24()
        try env.reset(seed: 0, options: ["cards": "H4,S6,D1,C1"])
        var results: [StepResult] = []
        // 21 operator entries are accepted (operators are never checked), the 22nd step truncates.
        for _ in 0..<21 { results.append(try env.step("(")) }
        #expect(results.allSatisfy { $0.reward == 0 && !$0.done })
        #expect(env.formula.count == 21)
        let r = try env.step("(")
        #expect(r.reward == -1 && r.truncated && !r.terminated)
        #expect(throws: EnvironmentError.episodeOver) { try env.step("1") }
    }

    @Test func thirteenRankVariant() throws {
        let env = Points24()
        try env.reset(seed: 0, options: ["cards": "HJ,DQ,SK,C2", "ranks": "13"])
        #expect(env.actions.count == 20)
        #expect(env.numbers == [11, 12, 13, 2])
        #expect(throws: EnvironmentError.self) { try env.step("14") }
        for t in ["13", "+", "11", "-", "12", "*", "2"] { _ = try env.step(t) }  // 13+11-24 = 0
        #expect(try env.step("=").reward == -1)
        try env.reset(seed: 0, options: ["cards": "HQ,DQ,SA,C1", "ranks": "13"])
        for t in ["12", "+", "12", "*", "1", "*", "1"] { _ = try env.step(t) }
        #expect(try env.step("=").reward == 10)
        #expect(!env.prompt(thoughts: true).contains("count as '10'"))
    }

    @Test func badDealsAreRejected() {
        let env = Points24()
        for bad in ["HJ,DJ,S6", "HJ,DJ,S6,XK", "HJ,DJ,S6,D11", "", "HJ,DJ,S6,DK,C2"] {
            #expect(throws: EnvironmentError.self) { try env.reset(seed: 0, options: ["cards": bad]) }
        }
        #expect(throws: EnvironmentError.self) { try env.reset(seed: 0, options: ["bogus": "1"]) }
        #expect(throws: EnvironmentError.self) { try env.reset(seed: 0, options: ["invalid": "maybe"]) }
    }

    @Test func seededDealsAreReproducible() throws {
        let a = Points24(), b = Points24()
        for s in [0, 1, 3, 42, 99_999] as [UInt64] {
            try a.reset(seed: s, options: [:]); try b.reset(seed: s, options: [:])
            #expect(a.cards == b.cards)
        }
        // Golden deals pin the PRNG and the deal procedure across machines and versions.
        try a.reset(seed: 3, options: [:])
        #expect(a.cards.map(\.description) == ["DQ", "C5", "D2", "DK"])
        try a.reset(seed: 0, options: [:])
        try a.reset(seed: nil, options: [:])
        // Unseeded resets continue the stream deterministically.
        try b.reset(seed: 0, options: [:]); try b.reset(seed: nil, options: [:])
        #expect(a.cards == b.cards)
    }

    @Test func solvableOnlyDealsSolvableHands() throws {
        let env = Points24()
        try env.reset(seed: 1, options: ["solvable_only": "true"])
        for s in 0..<50 as Range<UInt64> {
            try env.reset(seed: s, options: [:])
            #expect(env.solver.solvable(env.numbers))
        }
    }

    @Test func infoMatchesGymCards() throws {
        let (_, last, _) = try play("HT,SK,D2,CA", ["10", "+"])
        #expect(last?.info.serialized() == #"{"Cards":["HT","SK","D2","CA"],"Numbers":[10,10,2,1],"Formula":[10,"+"]}"#)
    }

    @Test func invalidPolicies() throws {
        let env = Points24()
        try env.reset(seed: 5, options: ["invalid": "penalty"])
        let (r, p) = try env.step(modelOutput: "I think 3 or 4.")
        #expect(!p.legal && r.invalid && r.reward == -1 && r.executedAction == nil && env.formula.isEmpty)
        try env.reset(seed: 5, options: ["invalid": "random"])
        let (r2, _) = try env.step(modelOutput: "no action here")
        #expect(r2.invalid && r2.executedAction != nil)
        let (r3, p3) = try env.step(modelOutput: #"{"thoughts": "x", "action": "10"}"#)
        #expect(p3.action == "10" && !r3.invalid)
    }
}

@Suite struct ParsingTests {
    @Test func projectionRules() {
        let env = Points24()
        #expect(env.project(#"{"cards": [1,2], "action": "10"}"#).action == "10")
        #expect(env.project(#"{"action": "+"}"#).action == "+")
        // "10" is taken out first, then "1" is not found in the remainder
        #expect(env.project(#""action": "10""#).keywords == ["10"])
        // two keywords → no action
        #expect(env.project(#""action": "3" or "4""#).action == nil)
        // no "action": only the last character is kept
        #expect(env.project("blah 7").action == "7")
        #expect(env.project("7 blah").action == nil)
        // case-insensitive key
        #expect(env.project(#"{"ACTION": "*"}"#).action == "*")
        let bj = Blackjack()
        #expect(bj.project(#"{"thoughts": "I have 12", "action": "hit"}"#).action == "hit")
        #expect(bj.project(#"{"action": "HIT or stand"}"#).action == nil)
    }

    @Test func strictParse() {
        let env = Points24()
        let ok = env.strictParse(#" {"cards": [10, 5, 2, 10], "formula": "", "thoughts": "10*2 ...", "action": "10"} "#)
        #expect(ok.valid && ok.action == "10")
        let missing = env.strictParse(#"{"cards": [1], "thoughts": "t", "action": "1"}"#)
        #expect(!missing.valid && missing.missingKeys == ["formula"])
        #expect(!env.strictParse(#"{"cards": [1,], "formula": "", "thoughts": "", "action": "1"}"#).valid)
        #expect(!env.strictParse("not json").valid)
        #expect(!env.strictParse("[1, 2]").valid)
        #expect(NumberLine().strictParse(#"{"current number": "1", "target number": "3", "thoughts": "t", "action": "+"}"#).valid)
    }

    @Test func jsonParserRejectsAndRoundTrips() throws {
        for bad in ["{", "{\"a\":}", "[1 2]", "\"\\x\"", "01", "{\"a\":1}x", String(repeating: "[", count: 200) + String(repeating: "]", count: 200)] {
            #expect(throws: JSONParser.ParseError.self) { try JSONParser.parse(bad) }
        }
        let v = try JSONParser.parse(#"{"b": [1, 2.5, "x\n\u00e9"], "a": null, "c": true}"#)
        #expect(v.serialized() == #"{"b":[1,2.5,"x\né"],"a":null,"c":true}"#)
        #expect(try JSONParser.parse(v.serialized()) == v)
    }

    @Test func promptsAreExact() throws {
        let env = Points24()
        try env.reset(seed: 0, options: ["cards": "HJ,DJ,S6,DK"])
        _ = try env.step("10"); _ = try env.step("+")
        let p = env.prompt(thoughts: true)
        #expect(p.hasPrefix("You are an expert 24 points card game player. You are observing four cards in the image. You are observing the current formula: 10+. "))
        #expect(p.contains("in the following format: \\{\n \"cards\": [x, y, z, w], \n\"current formula\": 10+, \n\"thoughts\": {First check"))
        #expect(p.hasSuffix("\"action\": \"{number}\" or \"{operator}\" \n \\}"))
        let q = env.prompt(thoughts: false)
        #expect(!q.contains("thoughts") && q.hasSuffix("format: \\{\n\"action\": \"{number}\" or \"{operator}\" \n \\}"))
        #expect(NumberLine().prompt(thoughts: false) == "You are playing a game called number line. You will see a target number and a current number in the image. And your goal is to move the current number closer to the target by choosing either adding or subtracting one to the current number. Your response should be a valid json file in the following format: \n{\n \"action\": \"-\" or \"+\" \n}")
    }
}
