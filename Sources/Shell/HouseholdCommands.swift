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
