import Foundation
import Support
import Testing
@testable import Correctors
import Environments

/// Issue 17 §7: a chat corrector's reply is read strictly: a verdict that is not YES or NO is a malformed reply,
/// never a NO; unclear fields stay unknown; nothing of a rejected reply survives.
@Suite struct StrictReplyTests {
    func parse(_ fields: String, into reply: inout CorrectorReply) throws {
        let r = try request(try points24(), p24Output(cards: "[4, 6, 2, 3]", formula: "", thoughts: "4+6+2+3 is 24", action: "6"))
        try CorrectorPrompt.make(for: r).parseReply("{" + fields + "}", into: &reply, env: r.env, agentAction: r.agentAction)
    }

    let correction = #""correction": {"cards": [4, 6, 2, 3], "formula": "", "thoughts": "4*6*(3-2) = 24, start with 4"}"#

    @Test func verdictsMustSayYesOrNo() throws {
        for (word, want) in [("YES", true), ("yes.", true), ("Yes, the thought is right", true), ("Correct", true), ("TRUE", true),
                             ("NO", false), ("no", false), ("Incorrect.", false), ("false", false)] {
            var reply = CorrectorReply(corrector: "chat")
            try parse(#""evaluation": "\#(word)", \#(correction)"#, into: &reply)
            #expect(reply.verdict == (want ? .correct : .incorrect), "\(word)")
        }
        for word in ["maybe", "", "The thought is fine", "N/A", "unsure"] {
            var reply = CorrectorReply(corrector: "chat")
            #expect(throws: MalformedReply.self, "\(word)") { try parse(#""evaluation": "\#(word)", \#(correction)"#, into: &reply) }
            #expect(reply.verdict == .none)
        }
    }

    @Test func unclearFieldsStayUnknown() throws {
        var reply = CorrectorReply(corrector: "chat")
        try parse(#""evaluation": "NO", "possible_solution": "unknown", "target_formula": "NOT DETERMINED", \#(correction)"#, into: &reply)
        #expect(reply.verdict == .incorrect && reply.possibleSolution == nil && reply.targetFormula == nil && reply.correction != nil)
        try parse(#""evaluation": "NO", "possible_solution": "No", "target_formula": "4 * 6 * (3 - 2) = 24", \#(correction)"#, into: &reply)
        #expect(reply.possibleSolution == false && reply.targetFormula == "4*6*(3-2)")
    }

    @Test func aYesKeepsItsVerdictWhateverItsCorrection() throws {
        var reply = CorrectorReply(corrector: "chat")
        try parse(#""evaluation": "YES", "correction": {"thoughts": "half a correction"}"#, into: &reply)
        #expect(reply.verdict == .correct && reply.correction == nil)
    }

    @Test func aRejectedReplyLeavesNothingBehind() throws {
        var reply = CorrectorReply(corrector: "chat")
        // A first attempt that names a target and answers, then fails on its correction…
        #expect(throws: MalformedReply.self) {
            try parse(#""answer1": "4, 6, 2 and 3", "evaluation": "NO", "target_formula": "4*6*(3-2)", "correction": {"thoughts": "x"}"#, into: &reply)
        }
        #expect(reply.targetFormula == nil && reply.answers.isEmpty && reply.verdict == .none)
        // …and an accepted second one without those fields: none of the first survives.
        try parse(#""evaluation": "NO", \#(correction)"#, into: &reply)
        #expect(reply.targetFormula == nil && reply.answers.allSatisfy { $0.isEmpty } && reply.verdict == .incorrect)
    }
}
