import Environments
import Foundation

extension Shell {
    static let householdCommands: [CommandSpec] = [
        CommandSpec(name: "admissible", group: "environment", usage: "admissible",
                    summary: "the admissible commands of the household task now (act takes one; TAB completes them)",
                    example: "admissible") { sh, _ in
            let h = try sh.requireHousehold()
            let list = h.legalActions
            sh.out("\(list.count) admissible command(s):")
            for c in list { sh.out("  " + c) }
        },
        CommandSpec(name: "expert", group: "environment", usage: "expert",
                    summary: "the expert's next command and its whole plan from here (privileged: it reads the true state)",
                    example: "expert") { sh, _ in
            let h = try sh.requireHousehold()
            guard let w = h.world else { throw CommandError("no household episode: env alfworld first") }
            if w.won { sh.out("the task is done"); return }
            let plan = HouseholdExpert.plan(w)
            guard let first = plan.first else { throw CommandError("the expert has no plan from this state") }
            sh.out("next: " + first)
            sh.out("plan (\(plan.count) step(s)): " + plan.joined(separator: " → "))
        },
        CommandSpec(name: "gen-household", group: "environment", usage: "gen-household out=DIR [task=TYPE|all] [games=N] [seed=S] [shared_locations=true]",
                    summary: "write generated household games as ALFWorld game.tw-pddl + traj_data.json (the real engine loads them)",
                    example: "gen-household out=games task=all games=2 seed=0", options: ["out", "task", "games", "seed", "shared_locations"], volatile: true) { sh, a in
            guard let out = a.options["out"] else { throw CommandError("out=DIR is required") }
            guard let inst = AlfworldBridge.locate() else {
                throw CommandError("writing game files needs ALFWorld's alfred.pddl and alfred.twl2: make alfworld (or pip install alfworld==0.4.2, or GTR_ALFWORLD_PYTHON=…)")
            }
            let n = try a.int("games", default: 1, range: 1...10_000)
            let seed = try a.seed() ?? 0
            let tasks: [HouseholdTask]
            switch a.options["task"] ?? "all" {
            case "all": tasks = HouseholdTask.allCases
            case let t: guard let k = HouseholdTask(rawValue: t) else { throw CommandError("task=\(t): expected all or \(HouseholdTask.allCases.map(\.rawValue).joined(separator: ", "))") }; tasks = [k]
            }
            var games: [HouseholdGame] = []
            let shared = a.options["shared_locations"] == "true"
            for t in tasks { for k in 0..<n { games.append(try HouseholdGenerator.generate(task: t, seed: seed &+ UInt64(k), sharedLocations: shared)) } }
            let files = try AlfworldBridge.write(games, to: sh.resolve(out), domain: inst.domain, grammar: inst.grammar)
            sh.out("wrote \(files.count) game(s) under \(sh.resolve(out).path) (domain and grammar from \(inst.data.path))")
        },
        CommandSpec(name: "conformance", group: "environment", usage: "conformance [dir=PATH] [games=N] [random=STEPS] [seed=S]",
                    summary: "play games in the real ALFWorld engine and in gtr's, comparing every step (generated games, or the game.tw-pddl files under dir=)",
                    example: "conformance games=2", options: ["dir", "games", "random", "seed"], volatile: true) { sh, a in
            guard let inst = AlfworldBridge.locate() else { throw CommandError("the real engine is not installed: make alfworld (or GTR_ALFWORLD_PYTHON=…)") }
            let n = try a.int("games", default: 2, range: 1...100_000)
            let random = try a.int("random", default: 40, range: 0...10_000)
            let seed = try a.seed() ?? 0
            var files: [URL] = []
            if let d = a.options["dir"] {
                let root = sh.resolve(d)
                guard let e = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil) else { throw CommandError("cannot read \(root.path)") }
                for case let u as URL in e where u.lastPathComponent == "game.tw-pddl" { files.append(u) }
                files.sort { $0.path < $1.path }
                files = Array(files.prefix(n))
                guard !files.isEmpty else { throw CommandError("no game.tw-pddl under \(root.path)") }
            } else {
                var games: [HouseholdGame] = []
                // Every second game puts receptacles in pairs at shared locations, as ALFRED's scenes do.
                for t in HouseholdTask.allCases {
                    for k in 0..<n { games.append(try HouseholdGenerator.generate(task: t, seed: seed &+ UInt64(k), sharedLocations: k % 2 == 1)) }
                }
                let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("gtr-conformance-\(UUID().uuidString)")
                files = try AlfworldBridge.write(games, to: tmp, domain: inst.domain, grammar: inst.grammar)
            }
            let c = try AlfworldBridge.compare(games: files, randomSteps: random, seed: seed, installation: inst)
            sh.out(c.summary)
            for d in c.differences.prefix(10) { sh.out(d) }
            if !c.differences.isEmpty { throw CommandError("the engines differ") }
        },
        CommandSpec(name: "goal", group: "environment", usage: "goal",
                    summary: "the task, its type, and how many goal conditions are met", example: "goal") { sh, _ in
            let h = try sh.requireHousehold()
            let gc = h.goalConditions
            sh.out("task: \(h.task) (\(h.goal?.task.rawValue ?? "unknown type"))")
            sh.out("goal conditions: \(gc.satisfied)/\(gc.total)" + (h.won ? sh.config.style.green("  won") : ""))
        },
    ]

    func requireHousehold() throws -> Household {
        guard let h = try requireEnv() as? Household else { throw CommandError("this works in the household env: env alfworld [task=TYPE] [seed=N] [game=PATH]") }
        return h
    }
}
