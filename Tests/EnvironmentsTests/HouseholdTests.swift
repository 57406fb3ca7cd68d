import Foundation
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
