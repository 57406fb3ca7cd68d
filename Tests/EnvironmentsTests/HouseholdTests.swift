import Foundation
import Support
import Testing
@testable import Environments

@Suite struct HouseholdTests {
    @Test(arguments: HouseholdTask.allCases) func expertWinsGeneratedGames(_ task: HouseholdTask) throws {
        var lengths: [Int] = []
        for seed in UInt64(0)..<25 {
            let g = try HouseholdGenerator.generate(task: task, seed: seed)
            let w = try g.world()
            #expect(!w.won, "\(task) seed \(seed) is won at reset")
            let plan = HouseholdExpert.plan(w)
            for c in plan { #expect(w.execute(c).admissible, "\(c)") }
            #expect(w.won, "\(task) seed \(seed): plan \(plan) does not win")
            lengths.append(plan.count)
        }
        #expect(lengths.allSatisfy { $0 >= 3 && $0 <= 20 }, "\(lengths)")
    }

    @Test func generationIsSeeded() throws {
        let a = try HouseholdGenerator.generate(task: .pickHeatThenPlace, seed: 7)
        let b = try HouseholdGenerator.generate(task: .pickHeatThenPlace, seed: 7)
        let c = try HouseholdGenerator.generate(task: .pickHeatThenPlace, seed: 8)
        #expect(a.problem == b.problem && a.sentence == b.sentence)
        #expect(a.problem != c.problem)
        #expect(a.sentence.contains(a.objectTarget.lowercased()))
    }

    @Test func namesFollowALFWorldsDemangler() {
        let n = HouseholdWorld.demangle(["cabinet_bar__plus_02", "cabinet_bar__plus_03", "sink_bar_1_bar_sinkbasin", "loc1", "apple_bar_x"])
        #expect(n["cabinet_bar__plus_02"] == "cabinet 2" && n["cabinet_bar__plus_03"] == "cabinet 1")
        #expect(n["sink_bar_1_bar_sinkbasin"] == "sinkbasin 1" && n["apple_bar_x"] == "apple 1")
        #expect(HouseholdWorld.list([]) == "nothing" && HouseholdWorld.list(["x"]) == "a x")
        #expect(HouseholdWorld.list(["x", "y"]) == "a x, and a y" && HouseholdWorld.list(["x", "y", "z"]) == "a x, a y, and a z")
    }

    @Test func badFilesGiveClearErrors() throws {
        #expect(throws: PDDLError.self) { try PDDLProblem.parse("(define (problem x) (:objects a - b)") }
        #expect(throws: PDDLError.self) { try PDDLProblem.parse("(define (problem x) (:init (atlocation a b)))") }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gtr-hh-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let f = dir.appendingPathComponent("game.tw-pddl")
        try Data("{\"grammar\": \"\"}".utf8).write(to: f)
        #expect(throws: PDDLError.self) { try HouseholdWorld(gameFile: f) }
        try Data("not json".utf8).write(to: f)
        #expect(throws: PDDLError.self) { try HouseholdWorld(gameFile: f) }
    }
}

@Suite struct HouseholdEnvironmentTests {
    func env(_ task: HouseholdTask, seed: UInt64 = 4, _ extra: [String: String] = [:]) throws -> Household {
        let h = Household()
        try h.reset(seed: seed, options: ["task": task.rawValue].merging(extra) { $1 })
        return h
    }

    @Test func rewardsFollowGTRsWrapper() throws {
        let h = try env(.pickHeatThenPlace)
        #expect(h.goalConditions.total == 3 && h.goalConditions.satisfied == 0)
        let bad = try h.step("fly to the moon")
        #expect(bad.invalid && bad.reward == -1 && bad.observation.text == "Nothing happens.")
        var rewards: [Double] = []
        var last: StepResult?
        while let next = HouseholdExpert.next(h.world!) { last = try h.step(next); rewards.append(last!.reward) }
        #expect(last?.terminated == true && h.isDone && h.won)
        #expect(rewards.last == 51, "50·won + all 3 goal conditions")
        // The heat step raises the goal-condition share to 1/3 on every later step until the apple is placed.
        #expect(rewards.contains { abs($0 - 1.0 / 3) < 1e-9 })
        #expect(h.info["goal_conditions"]?.stringValue == "3/3")
    }

    @Test func episodesEndAtMaxStepsAndWithGTRsTruncation() throws {
        let h = try env(.pickAndPlaceSimple, ["max_steps": "5"])
        var r: StepResult?
        for _ in 0..<5 { r = try h.step("look") }
        #expect(r?.truncated == true && h.isDone)
        let g = try env(.pickAndPlaceSimple, ["gtr_truncation": "true"])
        var k = 0
        repeat { r = try g.step("inventory"); k += 1 } while !g.isDone && k < 10
        #expect(k == 5 && r?.truncated == true && r?.reward == -3, "the same action 5 times")
        #expect(throws: EnvironmentError.self) { try Household().reset(seed: 1, options: ["task": "cook_dinner"]) }
        #expect(throws: EnvironmentError.self) { try Household().reset(seed: 1, options: ["game": "/nonexistent/game.tw-pddl"]) }
    }

    @Test func gtrParsingAndExactParsing() throws {
        let h = try env(.pickAndPlaceSimple)
        let legal = h.legalActions
        let target = legal.first { $0.hasPrefix("go to") }!
        // First admissible command (list order) contained in the text after "action":
        #expect(h.project("{\"thoughts\": \"I should go to the fridge\", \"action\": \"\(target.uppercased())\"}").action == target)
        #expect(h.project("{\"thoughts\": \"\(target)\", \"action\": \"dance\"}").action == nil)
        let exact = try env(.pickAndPlaceSimple, ["parse": "exact"])
        #expect(exact.project("{\"thoughts\": \"x\", \"action\": \"\(target) now\"}").action == nil)
        #expect(exact.project("{\"thoughts\": \"x\", \"action\": \"\(target)\"}").action == target)
        let (r, _) = try h.step(modelOutput: "no json at all")
        #expect(r.invalid && r.reward == -1)
    }

    @Test func promptCarriesTaskHistoryAndAdmissibleActions() throws {
        let h = try env(.lookAtObjInLight)
        _ = try h.step("look")
        let p = h.prompt(thoughts: true)
        #expect(p.contains("Your task is to \(h.task).") && p.contains("previous actions you have taken: ['look']"))
        #expect(p.contains("'\(h.legalActions[0])'") && p.contains("\"thoughts\"") && p.contains("\"action\""))
        #expect(!h.prompt(thoughts: false).contains("\"thoughts\""))
    }

    @Test func cloneIsIndependentAndFramesAreDrawn() throws {
        let h = try env(.pickCoolThenPlace)
        let c = h.clone() as! Household
        _ = try h.step(HouseholdExpert.next(h.world!)!)
        #expect(c.stepCount == 0 && c.world!.state != h.world!.state)
        let img = h.render()
        #expect(img.width == 300 && img.height == 300)
        #expect(Set(stride(from: 0, to: img.pixels.count, by: 3).map { img.pixels[$0] }).count > 3)
        #expect(h.render() != c.render(), "the frame shows where the agent is")
    }

    @Test func goalIsReadFromFormulas() throws {
        for t in HouseholdTask.allCases {
            let g = try HouseholdGenerator.generate(task: t, seed: 2)
            let goal = try #require(HouseholdGoal.from(try PDDLProblem.parse(g.problem).goal))
            #expect(goal.task == t)
            #expect(goal.objectType == g.objectTarget.lowercased() + "type")
        }
    }
}

@Suite struct HouseholdExpertAnswerTests {
    @Test func expertAnswersAreGTRJSONWithTheNextCommand() throws {
        let h = Household()
        try h.reset(seed: 9, options: ["task": "pick_two_obj_and_place"])
        var rng = SeededRNG(seed: 1)
        var steps = 0
        while !h.isDone, steps < 40 {
            let a = try Expert.answer(h, rng: &rng)
            let parse = h.strictParse(a.text)
            #expect(parse.valid, "\(a.text)")
            #expect(a.action == HouseholdExpert.next(h.world!))
            #expect(h.project(a.text).action == a.action)
            _ = try h.step(a.action)
            steps += 1
        }
        #expect(h.won)
    }
}
