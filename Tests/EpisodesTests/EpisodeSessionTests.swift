import Environments
import Testing
@testable import Episodes

/// Records what a session reports, in order.
final class RecordingSink: EpisodeSink {
    var events: [String] = []
    func episodeBegan(_ episode: Int, env: String, seed: UInt64?, options: String) { events.append("begin \(episode) \(env) \(seed.map(String.init) ?? "-") \(options)") }
    func stepped(_ s: EpisodeStep) { events.append("step \(s.t) \(s.action) \(s.source.rawValue) \(s.reward)") }
    func episodeEnded(_ episode: Int, return r: Double, length: Int) { events.append("end \(episode) \(r) \(length)") }
}

@Suite struct EpisodeSessionTests {
    @Test func humanModelAndCorrectorStepsShareOneRecordAndUndo() throws {
        let sink = RecordingSink()
        let ep = try EpisodeSession(env: Points24(), number: 1, seed: 3, options: ["cards": "HA,S2,D3,C4"], sink: sink)
        #expect(ep.optionsText == "cards=HA,S2,D3,C4")
        let a = try ep.apply(.action("4"), source: .human)
        #expect(a.action == "4" && a.t == 1 && a.source == .human && !a.invalid)
        let b = try ep.apply(.modelOutput("{\"thoughts\": \"times\", \"action\": \"*\"}"), source: .agent)
        #expect(b.action == "*" && b.parsed?.action == "*")
        let c = try ep.apply(.modelOutput("no idea"), source: .agent)
        #expect(c.invalid && c.action == "(invalid)" && c.reward == -1)
        #expect(ep.steps.count == 3 && ep.episodeReturn == a.reward + b.reward + c.reward)
        // Undo takes back model outputs and invalid steps alike (act text= used to leave nothing to undo).
        try ep.undo(2)
        #expect(ep.steps.count == 1 && ep.stepCount == 1 && ep.episodeReturn == a.reward)
        #expect((ep.env.currentFormula ?? "") == "4")
        #expect(throws: EpisodeError.nothingToUndo(available: 1)) { try ep.undo(2) }
        _ = try ep.apply(.action("*"), source: .corrector)
        #expect(ep.last?.source == .corrector)
        #expect(sink.events.first == "begin 1 points24 3 cards=HA,S2,D3,C4")
        #expect(sink.events.count == 5)
    }

    @Test func illegalActionIsRefusedAndNothingIsRecorded() throws {
        let ep = try EpisodeSession(env: Points24(), number: 1, seed: 1, options: [:])
        #expect(throws: EnvironmentError.self) { try ep.apply(.action("banana"), source: .human) }
        #expect(ep.steps.isEmpty && ep.undoDepth == 0)
    }

    @Test func finishedEpisodeEndsOnceAndAbandonedOneEndsWithItsOwnLength() throws {
        let sink = RecordingSink()
        // 4 * 3 * 2 * 1 = 24.
        let ep = try EpisodeSession(env: Points24(), number: 7, seed: nil, options: ["cards": "HA,S2,D3,C4"], sink: sink)
        for t in ["4", "*", "3", "*", "2", "*", "1", "="] { try ep.apply(.action(t), source: .script) }
        #expect(ep.isDone && ep.succeeded)
        ep.abandon()
        #expect(sink.events.filter { $0.hasPrefix("end") } == ["end 7 \(ep.episodeReturn) 8"])
        #expect(throws: EnvironmentError.episodeOver) { try ep.apply(.action("1"), source: .human) }

        let sink2 = RecordingSink()
        let env = Points24()
        let open = try EpisodeSession(env: env, number: 1, seed: 5, options: [:], sink: sink2)
        try open.apply(.action("1"), source: .human)
        // The next deal resets the same env object; the abandoned episode still reports its own length.
        _ = try EpisodeSession(env: env, number: 2, seed: 6, options: [:])
        open.abandon()
        #expect(sink2.events.last == "end 1 \(open.episodeReturn) 1")
    }

    @Test func householdCommandsArePlayedAsTheEngineDoes() throws {
        let ep = try EpisodeSession(env: Household(), number: 1, seed: 0, options: ["task": "pick_and_place_simple"])
        #expect(ep.env.actionsAreCommands)
        let s = try ep.apply(.action("jump around"), source: .human)
        #expect(s.reward == -1 && s.observation == "Nothing happens.")
        let next = ep.env.expertAdvice!.next
        let t = try ep.apply(.action(next), source: .expert)
        #expect(t.action == next && t.source == .expert)
    }

    @Test func badOptionsChangeNothing() throws {
        let env = Points24()
        #expect(throws: EnvironmentError.self) { try EpisodeSession(env: env, number: 1, seed: 1, options: ["bogus": "1"]) }
    }
}
