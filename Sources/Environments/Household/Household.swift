import Foundation
import Support

/// ALFWorld's household tasks as a gtr environment, on the native engine (`HouseholdWorld`). Episodes come from
/// gtr's generator (`task=`, seeded) or from a `game.tw-pddl` file (`game=PATH`, ALFWorld's own or generated).
///
/// Rewards and rules follow GTR's wrapper (gtr-method §6.5): reward = 50·won + goal-condition rate − 1 when the
/// command was not admissible; the episode ends when won or after `max_steps` (50). `gtr_truncation=true` adds
/// GTR's early stop (more than 40 actions, or the same action 5 times in a row: done with reward −3).
/// Model outputs are parsed as GTR does (`parse=gtr`: the first admissible command, in list order, contained in the
/// text after `"action":`) or exactly (`parse=exact`); `invalid=` decides what an unparsable output does, as for
/// the card games.
public final class Household: EnvironmentBase, Environment {
    public let name = "alfworld"
    public private(set) var world: HouseholdWorld?
    public private(set) var game: HouseholdGame?
    public private(set) var goal: HouseholdGoal?
    public private(set) var history: [String] = []
    public private(set) var lastFeedback = ""
    public private(set) var gamePath: String?
    public var maxSteps = 50
    public var gtrTruncation = false
    public var exactParse = false

    public override init() { super.init(); timeLimit = 50 }

    public var actions: [String] { legalActions }
    public var legalActions: [String] { world?.admissibleCommands ?? [] }
    public var requiredKeys: [String] { ["thoughts", "action"] }
    public var invalidReward: Double { -1 }

    public var task: String { world?.task ?? "" }
    public var won: Bool { world?.won ?? false }

    /// ALFWorld's goal-condition metric (ported from ALFRED's `goal_conditions_met` onto text-engine facts):
    /// pick-and-place 1 condition; pick-two and look-at 2; clean, heat and cool 3.
    public var goalConditions: (satisfied: Int, total: Int) {
        guard let w = world, let g = goal else { return (0, 1) }
        let targets = w.objects.filter { w.objType[$0] == g.objectType }
        func inParent(_ o: String) -> Bool { w.state.inReceptacle[o].map { w.recType[$0] == g.parentType } ?? false }
        switch g.task {
        case .pickAndPlaceSimple: return (targets.contains(where: inParent) ? 1 : 0, 1)
        case .pickTwoObjAndPlace:
            let best = w.receptacles.filter { w.recType[$0] == g.parentType }
                .map { r in targets.filter { w.state.inReceptacle[$0] == r }.count }.max() ?? 0
            return (min(best, 2), 2)
        case .lookAtObjInLight:
            let holding = w.state.holding.map { w.objType[$0] == g.objectType } ?? false
            let lit = w.objects.contains { w.objType[$0] == g.toggleType && w.state.toggled.contains($0)
                && w.state.inReceptacle[$0].map { w.recLocation[$0] == w.state.agentLocation } ?? false }
            return ((holding ? 1 : 0) + (lit ? 1 : 0), 2)
        case .pickCleanThenPlace, .pickHeatThenPlace, .pickCoolThenPlace:
            let done: (String) -> Bool = g.task == .pickCleanThenPlace ? { w.state.clean.contains($0) }
                : g.task == .pickHeatThenPlace ? { w.state.hot.contains($0) } : { w.state.cool.contains($0) }
            var s = 0
            if targets.contains(where: inParent) { s += 1 }
            if targets.contains(where: done) { s += 1 }
            if targets.contains(where: { inParent($0) && done($0) }) { s += 1 }
            return (s, 3)
        }
    }

    public var info: JSONValue {
        let gc = goalConditions
        return .object([("won", .bool(won)), ("goal_conditions", .string("\(gc.satisfied)/\(gc.total)")),
                        ("task_type", .string(goal?.task.rawValue ?? "")), ("admissible", .number(Double(legalActions.count))),
                        ("game", .string(gamePath ?? game.map { "generated \($0.task.rawValue) seed \($0.seed)" } ?? ""))])
    }

    public var textObservation: String { lastFeedback }

    @discardableResult
    public func reset(seed: UInt64?, options: [String: String]) throws -> Observation {
        try beginReset(seed: seed, options: options, known: ["task", "game", "max_steps", "gtr_truncation", "parse", "shared_locations"])
        if let v = options["max_steps"] {
            guard let n = Int(v), (1...10_000).contains(n) else { throw EnvironmentError.badOption("max_steps=\(v): expected 1…10000") }
            maxSteps = n
        }
        timeLimit = maxSteps
        if let v = options["gtr_truncation"] {
            guard ["true", "false"].contains(v) else { throw EnvironmentError.badOption("gtr_truncation=\(v): expected true or false") }
            gtrTruncation = v == "true"
        }
        if let v = options["parse"] {
            guard ["gtr", "exact"].contains(v) else { throw EnvironmentError.badOption("parse=\(v): expected gtr or exact") }
            exactParse = v == "exact"
        }
        if let path = options["game"] {
            let url = URL(fileURLWithPath: (path as NSString).expandingTildeInPath)
            do { world = try HouseholdWorld(gameFile: url) } catch let e as PDDLError { throw EnvironmentError.badOption("game=\(path): \(e.message)") }
            game = nil; gamePath = url.path
        } else {
            var task: HouseholdTask?
            if let t = options["task"], t != "any" {
                guard let k = HouseholdTask(rawValue: t) else {
                    throw EnvironmentError.badOption("task=\(t): expected any or one of \(HouseholdTask.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                task = k
            }
            let g = try HouseholdGenerator.generate(task: task, seed: rng.next(), sharedLocations: options["shared_locations"] == "true")
            game = g; gamePath = nil
            world = try g.world()
        }
        goal = world.flatMap { HouseholdGoal.from($0.problem.goal) }
        history = []
        lastFeedback = world?.intro ?? ""
        return observe()
    }

    public func step(_ action: String) throws -> StepResult {
        guard let w = world else { throw EnvironmentError.notReset }
        let hit = try beginStep()
        let (feedback, admissible) = w.execute(action)
        lastFeedback = feedback
        history.append(action)
        let gc = goalConditions
        var reward = (w.won ? 50 : 0) + Double(gc.satisfied) / Double(gc.total) - (admissible ? 0 : 1)
        var truncated = false
        if gtrTruncation && !w.won && (history.count > 40 || (history.count >= 5 && Set(history.suffix(5)).count == 1)) {
            truncated = true; reward = -3
        }
        var r = finish(StepResult(observation: observe(), reward: reward, terminated: w.won, truncated: truncated, info: info,
                                  executedAction: action), hitLimit: hit)
        r.invalid = !admissible
        return r
    }

    public func observe() -> Observation {
        Observation(image: renderFrames ? render() : RGBImage(width: 0, height: 0), text: textObservation)
    }

    /// GTR's ALFWorld prompt (§2.4, §5.7): the task, the action history and the admissible actions; no text
    /// observation (the agent sees the frame).
    public func prompt(thoughts: Bool) -> String {
        func list(_ xs: [String]) -> String { "[" + xs.map { "'\($0)'" }.joined(separator: ", ") + "]" }
        var q = "You are an expert in the ALFRED Embodied Environment. Your task is to \(task). "
        if observationMode == .text { q += "Your current observation is: \(lastFeedback.replacingOccurrences(of: "\n", with: " ")) " }
        q += "You are also given the previous actions you have taken: \(list(history)). "
        q += "Your admissible actions of the current situation are: \(list(legalActions)). "
        q += "Your response should be a valid json file in the following format: \n{\n"
        if thoughts {
            q += "\"thoughts\": \"first describe what you \(observationMode == .text ? "observe" : "see in the image"), then think carefully about which admissible action "
                + "brings you closer to the task, using the action history and the admissible actions\", \n"
        }
        q += "\"action\": \"an admissible action\" \n}"
        return q
    }

    /// GTR's parsing: lower-case, the text after `"action":` (else the last 30 characters), then the first
    /// admissible command in list order that occurs in it. `parse=exact`: the action value must equal a command.
    public func project(_ text: String) -> ProjectedAction {
        let legal = legalActions
        if exactParse {
            let v = strictParse(text).action ?? text.trimmingCharacters(in: .whitespacesAndNewlines)
            return legal.contains(v) ? ProjectedAction(action: v, keywords: [v]) : ProjectedAction(action: nil, keywords: [])
        }
        let lower = text.lowercased()
        let tail = lower.range(of: "\"action\":").map { String(lower[$0.upperBound...]) } ?? String(lower.suffix(30))
        let hits = legal.filter { tail.contains($0) }
        return ProjectedAction(action: hits.first, keywords: hits)
    }

    public func terminalView(ansi: Bool) -> String {
        var lines = [lastFeedback]
        if let w = world {
            if let h = w.state.holding { lines.append("holding: \(w.name(h))") }
            let gc = goalConditions
            lines.append("task: \(task)   goal conditions \(gc.satisfied)/\(gc.total)\(w.won ? "   WON" : "")")
        }
        return lines.joined(separator: "\n")
    }

    public func clone() -> Environment {
        let o = Household()
        copyBase(to: o)
        o.world = world.map { HouseholdWorld(copying: $0) }
        o.game = game; o.goal = goal; o.history = history; o.lastFeedback = lastFeedback; o.gamePath = gamePath
        o.maxSteps = maxSteps; o.gtrTruncation = gtrTruncation; o.exactParse = exactParse
        return o
    }

    public func randomLegalAction() -> String { rng.pick(legalActions.isEmpty ? ["look"] : legalActions) }

    /// A schematic frame, not an AI2-THOR image: where the agent is (the receptacle, open or closed), what it can
    /// see there, what it holds and the task, as labelled boxes on a 300×300 canvas.
    public func render() -> RGBImage {
        var img = RGBImage(width: 300, height: 300, fill: RGB(hex: 0xEDE6D6))
        guard let w = world else { return img }
        func text(_ s: String, _ x: Int, _ y: Int, _ c: RGB = .black, scale: Int = 1) {
            BitmapFont.draw(s.uppercased(), x: x, y: y, scale: scale, color: c, on: &img)
        }
        let here = w.here
        let title = here.isEmpty ? "MIDDLE OF THE ROOM" : here.map(w.name).joined(separator: ", ")
        text(title, 8, 8, scale: 2)
        // The receptacle as a box; a closed one is drawn shut.
        img.fillRect(x: 20, y: 40, w: 260, h: 150, RGB(hex: 0x8B6B4A))
        if let r = here.first {
            let closed = w.openable.contains(r) && !w.state.opened.contains(r)
            if closed {
                img.fillRect(x: 28, y: 48, w: 244, h: 134, RGB(hex: 0x6B4F35))
                text("CLOSED", 110, 105, .white, scale: 2)
            } else {
                img.fillRect(x: 28, y: 48, w: 244, h: 134, RGB(hex: 0xF7F3EA))
                let visible = w.objects.filter { w.state.inReceptacle[$0] == r }
                for (k, o) in visible.prefix(12).enumerated() {
                    let x = 34 + (k % 3) * 80, y = 54 + (k / 3) * 32
                    img.fillRect(x: x, y: y, w: 74, h: 26, Household.color(w.objType[o] ?? ""))
                    text(w.name(o), x + 3, y + 9, .white)
                }
                if visible.count > 12 { text("+\(visible.count - 12) MORE", 34, 172) }
            }
        }
        text("HOLDING:", 8, 204, scale: 2)
        if let h = w.state.holding {
            img.fillRect(x: 110, y: 198, w: 180, h: 24, Household.color(w.objType[h] ?? ""))
            text(w.name(h), 116, 206, .white, scale: 2)
        } else {
            text("NOTHING", 110, 204, scale: 2)
        }
        // The task, wrapped.
        var line = "", y = 236
        for word in ("TASK: " + task).split(separator: " ") {
            if (line + " " + word).count > 48 { text(line, 8, y); y += 10; line = String(word) } else { line = line.isEmpty ? String(word) : line + " " + word }
        }
        text(line, 8, y)
        return img
    }

    /// A stable colour per object type.
    static func color(_ type: String) -> RGB {
        let h = type.unicodeScalars.reduce(UInt32(2166136261)) { ($0 ^ $1.value) &* 16777619 }
        return RGB(UInt8(60 + h % 140), UInt8(60 + (h >> 8) % 140), UInt8(60 + (h >> 16) % 140))
    }
}
