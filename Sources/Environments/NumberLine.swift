import Support

/// gym-cards NumberLine-v0: move the current number to the target with "-" and "+" on 0…max_position.
/// Reward +1 on reaching the target (terminated), −1 for a step that does not reduce the distance, else 0;
/// truncated after 2·max_position steps.
///
/// One documented deviation: gym-cards' `reset` can draw start == target (only `__init__` guards against it),
/// which makes every first move a −1; gtr applies the `__init__` rule (target := (target+1) mod max) at reset.
public final class NumberLine: EnvironmentBase, Environment {
    public let name = "numberline"
    public private(set) var maxPosition = 5
    public private(set) var position = 0
    public private(set) var goal = 0

    public override init() { super.init() }

    public var actions: [String] { ["-", "+"] }
    public var legalActions: [String] { actions }
    public var requiredKeys: [String] { ["current number", "target number", "thoughts", "action"] }
    public var invalidReward: Double { -1 }
    public var info: JSONValue { .object([("Target", .number(Double(goal))), ("Current", .number(Double(position)))]) }
    public var textObservation: String { "Target: \(goal) | Current: \(position)" }

    @discardableResult
    public func reset(seed: UInt64?, options: [String: String]) throws -> Observation {
        try beginReset(seed: seed, options: options, known: ["max_position", "start", "target"])
        if let v = options["max_position"] {
            guard let n = Int(v), (1...99).contains(n) else { throw EnvironmentError.badOption("max_position=\(v): expected 1…99") }
            maxPosition = n
        }
        position = rng.int(in: 0...maxPosition)
        goal = rng.int(in: 0...maxPosition)
        if position == goal { goal = (goal + 1) % maxPosition }
        if let v = options["start"] { position = try NumberLine.parsePos(v, "start", maxPosition) }
        if let v = options["target"] { goal = try NumberLine.parsePos(v, "target", maxPosition) }
        return observe()
    }

    static func parsePos(_ v: String, _ key: String, _ m: Int) throws -> Int {
        guard let n = Int(v), (0...m).contains(n) else { throw EnvironmentError.badOption("\(key)=\(v): expected 0…\(m)") }
        return n
    }

    public func step(_ action: String) throws -> StepResult {
        guard actions.contains(action) else { throw EnvironmentError.unknownAction(action, legal: actions) }
        let hit = try beginStep()
        let before = abs(position - goal)
        if action == "-", position > 0 { position -= 1 } else if action == "+", position < maxPosition { position += 1 }
        let after = abs(position - goal)
        let reward: Double = after == 0 ? 1 : (after >= before ? -1 : 0)
        let truncated = after != 0 && stepCount >= maxPosition * 2
        return finish(StepResult(observation: observe(), reward: reward, terminated: after == 0, truncated: truncated,
                                 info: info, executedAction: action), hitLimit: hit)
    }

    public func observe() -> Observation {
        Observation(image: renderFrames ? render() : RGBImage(width: 0, height: 0), text: textObservation)
    }

    /// White frame; "Target: g" at (30, 60) and "Current: p" at (30, 180) in large black text.
    public func render() -> RGBImage {
        var img = RGBImage(width: 300, height: 300, fill: .white)
        BitmapFont.draw("Target: \(goal)", x: 30, y: 60, scale: 4, color: .black, on: &img)
        BitmapFont.draw("Current: \(position)", x: 30, y: 180, scale: 4, color: .black, on: &img)
        return img
    }

    public func prompt(thoughts: Bool) -> String {
        var q = "You are playing a game called number line. "
        q += observationMode == .text ? "The target number is \(goal) and the current number is \(position). "
            : "You will see a target number and a current number in the image. "
        q += "And your goal is to move the current number closer to the target by choosing either adding or subtracting one to the current number. "
        q += "Your response should be a valid json file in the following format: \n{\n "
        if thoughts {
            q += "\"current number\": \"x\", \n"
            q += "\"target number\": \"x\", \n"
            q += "\"thoughts\": \"{first read out the current and target number, then think carefully about which action to choose}\", \n"
        }
        q += "\"action\": \"-\" or \"+\" \n}"
        return q
    }

    public func project(_ text: String) -> ProjectedAction { projectAction(text, keywords: actions, pointsRules: false) }
    public func randomLegalAction() -> String { rng.pick(actions) }
    public func terminalView(ansi: Bool) -> String { textObservation }

    public func clone() -> Environment {
        let o = NumberLine()
        copyBase(to: o)
        o.maxPosition = maxPosition; o.position = position; o.goal = goal
        return o
    }
}
