import Environments
import Foundation

extension Shell {
    static let householdCommands: [CommandSpec] = [
        CommandSpec(name: "admissible", group: "environment",
                    summary: "the admissible commands of a household task now, one per line (act takes one; TAB completes them)",
                    example: "admissible") { sh, _ in
            let e = try sh.requireEnv()
            guard e.actionsAreCommands else { throw CommandError("\(e.name) has action tokens, not commands: actions lists them") }
            let list = e.legalActions
            sh.out("\(list.count) admissible command(s):")
            for c in list { sh.out("  " + c) }
        },
        CommandSpec(name: "expert", group: "environment",
                    summary: "the expert's next command and its whole plan from here (privileged: it reads the true state)",
                    example: "expert") { sh, _ in
            let e = try sh.requireEnv()
            if e.isDone { sh.out("the episode is over"); return }
            guard let advice = e.expertAdvice else {
                if let g = e.goalProgress, g.won { sh.out("the task is done"); return }
                throw CommandError("\(e.name) has no planning expert here (household tasks have one)")
            }
            sh.out("next: " + advice.next)
            sh.out("plan (\(advice.plan.count) step(s)): " + advice.plan.joined(separator: " → "))
        },
        CommandSpec(name: "gen-household", group: "environment",
                    summary: "write generated household games as ALFWorld game.tw-pddl + traj_data.json (the real engine loads them)",
                    example: "gen-household out=games task=all games=2 seed=0",
                    options: [OptionSpec("out", .path, "required"), OptionSpec("task", .choice(["all"] + HouseholdTask.allCases.map(\.rawValue)), default: "all"),
                              OptionSpec("games", .int(1...10_000), default: "1", "per task type"), OptionSpec("seed", .seed, default: "0"),
                              OptionSpec("shared_locations", .bool, default: "false")], volatile: true) { sh, a in
            guard let out = a.string("out") else { throw CommandError("out=DIR is required") }
            guard let inst = AlfworldBridge.locate() else {
                throw CommandError("writing game files needs ALFWorld's alfred.pddl and alfred.twl2: make alfworld (or pip install alfworld==0.4.2, or GTR_ALFWORLD_PYTHON=…)")
            }
            let n = a.int("games") ?? 1
            let seed = a.seed() ?? 0
            let tasks = a.string("task").flatMap(HouseholdTask.init(rawValue:)).map { [$0] } ?? HouseholdTask.allCases
            var games: [HouseholdGame] = []
            let shared = a.bool("shared_locations") ?? false
            for t in tasks { for k in 0..<n { games.append(try HouseholdGenerator.generate(task: t, seed: seed &+ UInt64(k), sharedLocations: shared)) } }
            let files = try AlfworldBridge.write(games, to: sh.resolve(out), domain: inst.domain, grammar: inst.grammar)
            sh.out("wrote \(files.count) game(s) under \(sh.resolve(out).path) (domain and grammar from \(inst.data.path))")
        },
        CommandSpec(name: "conformance", group: "environment",
                    summary: "play games in the real ALFWorld engine and in gtr's, comparing every step (generated games, or the game.tw-pddl files under dir=)",
                    example: "conformance games=2",
                    options: [OptionSpec("dir", .path, "official games: every game.tw-pddl under it"), OptionSpec("games", .int(1...100_000), default: "2"),
                              OptionSpec("random", .int(0...10_000), default: "40", "random commands per game"), OptionSpec("seed", .seed, default: "0")],
                    volatile: true) { sh, a in
            guard let inst = AlfworldBridge.locate() else { throw CommandError("the real engine is not installed: make alfworld (or GTR_ALFWORLD_PYTHON=…)") }
            let n = a.int("games") ?? 2
            let random = a.int("random") ?? 40
            let seed = a.seed() ?? 0
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
        CommandSpec(name: "goal", group: "environment",
                    summary: "the task, its type, and how many goal conditions are met", example: "goal") { sh, _ in
            let e = try sh.requireEnv()
            guard let g = e.goalProgress else { throw CommandError("\(e.name) has no goal conditions (household tasks have)") }
            sh.out("task: \(g.task) (\(g.kind))")
            sh.out("goal conditions: \(g.satisfied)/\(g.total)" + (g.won ? sh.config.style.green("  won") : ""))
        },
    ]
}
