import Foundation
import Testing
@testable import Environments

/// Text mode (`observation=text`): every env's prompt describes what its frame shows, the visual prompt stays
/// GTR's byte for byte, the mode survives `clone`, and a bad value is one clear error.
struct TextObservationTests {
    func prompts(_ name: String, _ options: [String: String], seed: UInt64 = 3) throws -> (image: String, text: String, env: Environment) {
        let a = try EnvironmentRegistry.make(name), b = try EnvironmentRegistry.make(name)
        try a.reset(seed: seed, options: options)
        var o = options
        o["observation"] = "text"
        try b.reset(seed: seed, options: o)
        #expect(a.observationMode == .image && b.observationMode == .text)
        return (a.prompt(thoughts: true), b.prompt(thoughts: true), b)
    }

    @Test func points24NamesTheCardsInsteadOfTheImage() throws {
        let p = try prompts("points24", ["cards": "DQ,C5,D2,DK"])
        #expect(p.image.contains("You are observing four cards in the image. "))
        #expect(p.text.contains("You are observing four cards: 'Q', '5', '2', 'K'. ") && !p.text.contains("image"))
        // everything else is GTR's prompt unchanged
        #expect(p.text.replacingOccurrences(of: "four cards: 'Q', '5', '2', 'K'.", with: "four cards in the image.") == p.image)
        let ten = try prompts("points24", ["cards": "HT,SA,C9,D3"])
        #expect(ten.text.contains("'10', 'A', '9', '3'"))
        // the formula so far is in both, as GTR's prompt has it
        let env = p.env
        _ = try env.step("10")
        #expect(env.prompt(thoughts: true).contains("current formula: 10."))
        #expect(env.clone().observationMode == .text)
    }

    @Test func theOtherGamesDescribeTheirState() throws {
        let ez = try prompts("ezpoints", ["cards": "H3,S4"])
        #expect(ez.text.contains("You are observing two cards: '3', '4'. ") && !ez.text.contains("in the image"))
        let nl = try prompts("numberline", ["start": "1", "target": "4"])
        #expect(nl.text.contains("The target number is 4 and the current number is 1. ") && !nl.text.contains("in the image"))
        let bj = try prompts("blackjack", [:], seed: 2)
        #expect(bj.text.contains("the dealer shows") && bj.text.contains("your cards are") && bj.text.contains("total"))
        #expect(bj.image.contains("You are observing the current game state, you can choose between ['stand', 'hit']. "))
        let hh = try prompts("alfworld", ["task": "pick_and_place_simple"], seed: 1)
        #expect(hh.text.contains("Your current observation is: ") && hh.text.contains("first describe what you observe"))
        #expect(!hh.image.contains("Your current observation is") && hh.image.contains("what you see in the image"))
    }

    @Test func aBadModeIsOneClearError() throws {
        let e = try EnvironmentRegistry.make("points24")
        do { try e.reset(seed: 1, options: ["observation": "smell"]); Issue.record("observation=smell accepted") } catch let err as EnvironmentError {
            #expect(err.description.contains("observation=smell: expected image or text"))
        }
    }
}
