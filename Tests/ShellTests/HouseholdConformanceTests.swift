import Foundation
import Testing
@testable import Shell

/// gtr's household engine against the real ALFWorld text engine (PyPI alfworld, driven by
/// `scripts/alfworld_driver.py`) on generated games of every task type: identical feedback text, admissible-command
/// sets and `won` at every step, for the expert's commands with probes and for random commands with invalid ones
/// mixed in. `.ci/run` installs alfworld into `.venv-alfworld` (`make alfworld`).
@Suite(.serialized) struct HouseholdConformanceTests {
    static let installation = AlfworldBridge.locate()

    @Test(.enabled(if: HouseholdConformanceTests.installation != nil)) func nativeEngineMatchesTheRealEngine() throws {
        let dir = tempDir()
        let sh = makeShell(dir, logging: false)
        defer { sh.close() }
        #expect(sh.execute("conformance games=2 random=40 seed=0"), "\(sh.lastOutput)")
        let o = sh.lastOutput
        print("household conformance: " + o)
        #expect(o.contains("12 game(s), 24 run(s)") && o.contains("identical feedback, admissible commands and won at every step"))
        #expect(o.contains("won)") && !o.contains("(0 run(s) won)"))
        // Written games load in both engines and carry what AlfredTWEnv needs.
        #expect(sh.execute("gen-household out=games task=pick_two_obj_and_place games=1 seed=5"))
        let game = try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("games").path)
        #expect(game.count == 1)
        let traj = try String(contentsOf: dir.appendingPathComponent("games/\(game[0])/traj_data.json"), encoding: .utf8)
        #expect(traj.contains("\"task_type\":\"pick_two_obj_and_place\""))
        #expect(sh.execute("env alfworld game=games/\(game[0])/game.tw-pddl"))
        #expect(sh.lastOutput.contains("Your task is to: "))
    }
}
