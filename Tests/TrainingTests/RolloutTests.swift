import Agents
import Environments
import Foundation
import Testing
@testable import Training

/// Rollouts over E environments through EpisodeSessions, with one batched generation per step.
@Suite struct RolloutTests {
    static func policy() throws -> Policy {
        var c = SFTConfig()
        c.env = "numberline"; c.steps = 8; c.merges = 60; c.dModel = 32; c.layers = 1
        return try SFT.makeModel(c, data: try ExpertData.collect(env: c.env, steps: c.steps, seed: 7))
    }

    static let sampling = GenerationConfig(temperature: 1, maxNewTokens: 6, seed: 11)

    @Test func stepsAreStoredPerEnvWithTheirOwnPromptAndAreReproducible() throws {
        let p = try Self.policy()
        // time_limit=3 ends every episode after three (invalid) steps, so episodes end and are redealt inside.
        let a = try RolloutCollector(env: "numberline", options: ["time_limit": "3"], count: 3, seed: 100)
        let r = try a.collect(p, steps: 4, config: Self.sampling, lambda: 0.5)
        #expect(r.steps.count == 3 && r.steps.allSatisfy { $0.count == 4 } && r.lastValues.count == 3)
        for (e, row) in r.steps.enumerated() {
            for s in row {
                #expect(s.envIndex == e)
                #expect(abs(s.weightedLogProb - (0.5 * s.output.thoughtLogProb + s.output.actionLogProb)) < 1e-5)
                #expect(s.bonus == (s.valid ? 5 : 0))
            }
            // Three steps end the first episode (time limit); the fourth belongs to the next deal.
            #expect(row.map(\.done) == [false, false, true, false])
            #expect(row[3].episode != row[0].episode && row[3].t == 1)
            // Each step keeps the prompt of the state it was generated for (the redealt env's own prompt).
            let fresh = try EnvironmentRegistry.make("numberline")
            try fresh.reset(seed: 100 + UInt64(3 + e), options: ["time_limit": "3"])
            #expect(row[3].input.prompt == fresh.prompt(thoughts: true))
        }
        #expect(r.finished.count == 3)
        let b = try RolloutCollector(env: "numberline", options: ["time_limit": "3"], count: 3, seed: 100)
        let r2 = try b.collect(p, steps: 4, config: Self.sampling, lambda: 0.5)
        #expect(r.steps.map { $0.map(\.output.tokenIDs) } == r2.steps.map { $0.map(\.output.tokenIDs) })
        // GAE runs on the stored rewards, values and dones; a done step does not bootstrap.
        let g = try r.advantages()
        #expect(g.advantages.count == 3 && g.advantages[0].count == 4)
        let s = r.steps[0][2]
        #expect(abs(g.advantages[0][2] - (s.reward - Double(s.output.value) + s.bonus)) < 1e-5)
    }
}
