import Testing
@testable import Correctors
import Environments
import Support

/// The deal 4, 6, 2, 3 (one solution is 4*6*(3-2)) with `moves` already played.
func points24(_ cards: String = "H4,D6,S2,C3", moves: [String] = []) throws -> Points24 {
    let e = Points24()
    try e.reset(seed: 0, options: ["cards": cards])
    for m in moves { _ = try e.step(m) }
    return e
}

func request(_ env: Environment, _ output: String, target: String? = nil) throws -> CorrectionRequest {
    try CorrectionRequest.from(env: env, output: output, targetFormula: target)
}

func p24Output(cards: String, formula: String, thoughts: String, action: String) -> String {
    "{\"cards\": \(cards), \"formula\": \"\(formula)\", \"thoughts\": \"\(thoughts)\", \"action\": \"\(action)\"}"
}

@Suite struct OracleTests {
    let oracle = OracleCorrector()

    /// One hand-written thought and what the oracle must say about it.
    struct Case: CustomStringConvertible {
        var name: String
        var cards = "[4, 6, 2, 3]"
        var formula = ""
        var moves: [String] = []
        var thoughts: String
        var action: String
        var target: String?
        var verdict: Verdict
        var expectTarget: String?
        var nextInAnswer: String?
        var description: String { name }
    }

    static let cases: [Case] = [
        Case(name: "right cards, right formula, right first token", thoughts: "4*6*(3-2) makes 24, so I start with 4.", action: "4",
             verdict: .correct, expectTarget: "4*6*(3-2)"),
        Case(name: "ranks as strings, in another order", cards: "[\"3\", \"2\", \"6\", \"4\"]", thoughts: "Plan: 4*6*(3-2). First 4.", action: "4",
             verdict: .correct, expectTarget: "4*6*(3-2)"),
        Case(name: "wrong card", cards: "[4, 6, 2, 5]", thoughts: "4*6*(3-2) makes 24, so I start with 4.", action: "4",
             verdict: .incorrect, expectTarget: "4*6*(3-2)"),
        Case(name: "face card named J for a 6", cards: "[4, \"J\", 2, 3]", thoughts: "4*6*(3-2) is 24.", action: "4", verdict: .incorrect),
        Case(name: "good formula, bad next token", thoughts: "4*6*(3-2) makes 24; I begin with 6.", action: "6",
             verdict: .incorrect, expectTarget: "4*6*(3-2)", nextInAnswer: "'4'"),
        Case(name: "formula that is not 24", thoughts: "4+6+2+3 makes 24.", action: "4", verdict: .incorrect),
        Case(name: "no formula at all", thoughts: "I will put a number first.", action: "4", verdict: .incorrect),
        Case(name: "middle of the formula, right token", formula: "4*6*(", moves: ["4", "*", "6", "*", "("],
             thoughts: "Following 4*6*(3-2), next is 3.", action: "3", verdict: .correct, expectTarget: "4*6*(3-2)"),
        Case(name: "formula field is not what is written", formula: "4*6", moves: ["4", "*", "6", "*", "("],
             thoughts: "Following 4*6*(3-2), next is 3.", action: "3", verdict: .incorrect),
        Case(name: "finished formula → =", formula: "4*6*(3-2)", moves: ["4", "*", "6", "*", "(", "3", "-", "2", ")"],
             thoughts: "4*6*(3-2) equals 24 and uses every card, so '='.", action: "=", verdict: .correct, nextInAnswer: "'='"),
        Case(name: "finished formula but another token", formula: "4*6*(3-2)", moves: ["4", "*", "6", "*", "(", "3", "-", "2", ")"],
             thoughts: "4*6*(3-2) needs more.", action: "+", verdict: .incorrect, nextInAnswer: "'='"),
        Case(name: "determined target, thought proposes another solution", thoughts: "6*4*(3-2) makes 24, start with 6.", action: "6",
             target: "4*6*(3-2)", verdict: .incorrect, expectTarget: "4*6*(3-2)", nextInAnswer: "'4'"),
        Case(name: "determined target spelled with spaces and = 24", thoughts: "4*6*(3-2) makes 24, so 4.", action: "4",
             target: "4 × 6 × (3 - 2) = 24", verdict: .correct, expectTarget: "4*6*(3-2)"),
    ]

    @Test(arguments: cases) func handWrittenThoughts(_ c: Case) throws {
        let e = try points24(moves: c.moves)
        let r = try request(e, p24Output(cards: c.cards, formula: c.formula, thoughts: c.thoughts, action: c.action), target: c.target)
        let reply = try oracle.correct(r)
        #expect(reply.verdict == c.verdict, "\(c.name): \(reply.answers)")
        #expect(reply.answers.count == 4)
        #expect(reply.possibleSolution == true)
        if let t = c.expectTarget { #expect(reply.targetFormula == t, "\(c.name)") }
        if let n = c.nextInAnswer { #expect(reply.answers[3].contains(n), "\(c.name): \(reply.answers[3])") }
        if c.verdict == .correct {
            #expect(reply.correction == nil)
        } else {
            let corr = try #require(reply.correction)
            // The agent's own action is kept, last (GTR §5.5); the facts are the deal's.
            #expect(corr["action"]?.stringValue == c.action)
            if case let .object(pairs) = corr { #expect(pairs.last?.0 == "action") }
            #expect(OracleCorrector.cardValues(corr["cards"])?.sorted() == [2, 3, 4, 6])
            #expect(corr["formula"]?.stringValue == e.formulaText)
            // The corrected thought itself passes the oracle when it is paired with the right next token.
            let fixedAction = reply.answers[3].range(of: #"next (token|action) is '([^']+)'"#, options: .regularExpression).map { String(reply.answers[3][$0]) }
            if let fa = fixedAction, let tok = fa.split(separator: "'").dropFirst().first {
                let prefix = try #require(reply.correctionPrefix)
                let again = try oracle.correct(try request(e, prefix + "\"action\": \"\(tok)\"}", target: reply.targetFormula))
                #expect(again.verdict == .correct, "\(c.name): correction judged \(again.answers)")
            }
        }
    }

    @Test func unsolvableDealIsReportedWithoutCorrection() throws {
        let e = try points24("H1,D1,S1,C1")
        let reply = try oracle.correct(try request(e, p24Output(cards: "[1, 1, 1, 1]", formula: "", thoughts: "1+1+1+1 is 24", action: "1")))
        #expect(reply.possibleSolution == false)
        #expect(reply.verdict == .incorrect)
        #expect(reply.correction == nil)
        #expect(reply.answers[0].contains("No formula makes 24"))
        var t = TargetFormula()
        let labelled = t.update(with: reply)
        #expect(labelled == false)
        #expect(t.unsolvable)
    }

    @Test func deviatedFormulaAsksForEquals() throws {
        // 4+6+2+3 = 15 uses every card: nothing completes it, so the only sensible next token is '='.
        let e = try points24(moves: ["4", "+", "6", "+", "2", "+", "3"])
        let reply = try oracle.correct(try request(e, p24Output(cards: "[4, 6, 2, 3]", formula: "4+6+2+3", thoughts: "keep going", action: "*")))
        #expect(reply.verdict == .incorrect)
        #expect(reply.answers[3].contains("'='"))
        #expect(reply.targetFormula == nil)
    }

    @Test func sameRequestSameText() throws {
        let e = try points24()
        let out = p24Output(cards: "[4, 6, 2, 5]", formula: "", thoughts: "no idea", action: "2")
        let a = try oracle.correct(try request(e, out)), b = try oracle.correct(try request(e, out))
        #expect(a.correction == b.correction)
        #expect(a.rawReply == b.rawReply)
        #expect(oracle.requestHash(try request(e, out)) == oracle.requestHash(try request(e, out)))
        #expect(oracle.requestHash(try request(e, out)) != oracle.requestHash(try request(e, out, target: "4*6*(3-2)")))
    }

    @Test func invalidOutputsAreNotCorrected() throws {
        let e = try points24()
        #expect(throws: CorrectorError.self) { try request(e, "I think 4") }
        #expect(throws: CorrectorError.self) { try request(e, "{\"cards\": [4, 6, 2, 3], \"action\": \"4\"}") }
    }

    @Test func numberLine() throws {
        let n = NumberLine()
        try n.reset(seed: 0, options: ["start": "1", "target": "4"])
        let good = "{\"current number\": 1, \"target number\": 4, \"thoughts\": \"1 is below 4, add one\", \"action\": \"+\"}"
        let wrongState = "{\"current number\": 2, \"target number\": 4, \"thoughts\": \"go up\", \"action\": \"+\"}"
        let wrongAction = "{\"current number\": 1, \"target number\": 4, \"thoughts\": \"go down\", \"action\": \"-\"}"
        #expect(try oracle.correct(try request(n, good)).verdict == .correct)
        let r1 = try oracle.correct(try request(n, wrongState))
        #expect(r1.verdict == .incorrect)
        #expect(r1.correction?["current number"]?.numberValue == 1)
        let r2 = try oracle.correct(try request(n, wrongAction))
        #expect(r2.verdict == .incorrect)
        #expect(r2.correction?["action"]?.stringValue == "-")
        #expect(r2.answers.count == 2)
    }

    @Test func blackjack() throws {
        let b = Blackjack()
        for seed in UInt64(0)..<40 {
            try b.reset(seed: seed, options: [:])
            let right = Expert.blackjackAction(b)
            let wrong = right == "hit" ? "stand" : "hit"
            let t = b.playerTotal
            let ok = "{\"thoughts\": \"I have \(t) points.\", \"action\": \"\(right)\"}"
            #expect(try oracle.correct(try request(b, ok)).verdict == .correct)
            #expect(try oracle.correct(try request(b, "{\"thoughts\": \"I have \(t) points.\", \"action\": \"\(wrong)\"}")).verdict == .incorrect)
            #expect(try oracle.correct(try request(b, "{\"thoughts\": \"I have \(t + 30) points.\", \"action\": \"\(right)\"}")).verdict == .incorrect)
        }
    }

    @Test func ezPoints() throws {
        let e = EZPoints()
        try e.reset(seed: 0, options: ["cards": "H3,S4"])
        let good = "{\"cards\": [3, 4], \"formula\": \"\", \"thoughts\": \"3*4 makes 12, start with 3\", \"action\": \"3\"}"
        let bad = "{\"cards\": [3, 4], \"formula\": \"\", \"thoughts\": \"3+4 makes 12\", \"action\": \"3\"}"
        let r = try oracle.correct(try request(e, good))
        #expect(r.verdict == .correct)
        #expect(r.answers.count == 3)
        #expect(r.possibleSolution == nil)
        #expect(try oracle.correct(try request(e, bad)).verdict == .incorrect)
    }

    @Test func targetTracking() throws {
        var t = TargetFormula()
        #expect(t.display == "NOT DETERMINED")
        var yes = CorrectorReply(corrector: "x"); yes.verdict = .correct; yes.targetFormula = "4*6*(3-2)"
        t.update(with: yes)
        #expect(t.formula == "4*6*(3-2)")
        #expect(t.allows(currentFormula: "4*6*("))
        #expect(t.allows(currentFormula: "4 * 6"))
        #expect(!t.allows(currentFormula: "6"))
        var yes2 = yes; yes2.targetFormula = "6*4*(3-2)"
        t.update(with: yes2)
        #expect(t.formula == "4*6*(3-2)", "a YES keeps a determined target")
        var no = CorrectorReply(corrector: "x"); no.verdict = .incorrect; no.possibleSolution = true; no.targetFormula = "(3-2)*4*6"
        no.correction = .object([("thoughts", .string("x"))])
        let labelled = t.update(with: no)
        #expect(labelled)
        #expect(t.formula == "(3-2)*4*6")
        t.reset()
        #expect(t.formula == nil && !t.unsolvable, "every episode starts NOT DETERMINED (GTR bug 5 fixed)")
        #expect(TargetFormula.normalize("4 × 6 × (3 − 2) = 24") == "4*6*(3-2)")
    }

    @Test func formulaCandidates() {
        let c = TargetFormula.candidates(in: "I see 4, 6, 2 and 3. (3-2)*4*6 = 24, then 10 + 2.").map(\.text)
        #expect(c == ["(3-2)*4*6", "10+2"])
    }

    @Test func solverTool() {
        let r = CorrectorPrompt.runTool(arguments: .object([("card1", .string("4")), ("card2", .string("6")), ("card3", .string("2")), ("card4", .string("3"))]))
        #expect(r == Solver.points24.solutions([4, 6, 2, 3]).map(\.text).joined(separator: ", "))
        let faces = CorrectorPrompt.runTool(arguments: .object([("card1", .string("J")), ("card2", .string("3")), ("card3", .string("13")), ("card4", .string("A"))]))
        #expect(faces.contains("+"))
        #expect(faces == Solver.points24.solutions([10, 3, 10, 1]).map(\.text).joined(separator: ", "))
        #expect(CorrectorPrompt.runTool(arguments: .object([("card1", .string("1")), ("card2", .string("1")), ("card3", .string("1")), ("card4", .string("1"))])) == "No possible solution")
        #expect(CorrectorPrompt.runTool(arguments: .object([("card1", .string("Z"))])).hasPrefix("Error"))
    }

    @Test func sha256KnownVectors() {
        #expect(SHA256.hex([]) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hex(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }
}
