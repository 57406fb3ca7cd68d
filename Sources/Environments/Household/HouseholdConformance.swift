import Foundation
import Support

/// Replays a transcript of the real ALFWorld engine (`scripts/alfworld_driver.py`) in the native engine and
/// reports every difference in feedback text, admissible commands and `won`.
public enum HouseholdConformance {
    public struct Report: Sendable {
        public var steps = 0
        public var differences: [String] = []
        public var identical: Bool { differences.isEmpty }
    }

    public static func compare(world: HouseholdWorld, transcript: JSONValue) -> Report {
        var r = Report()
        world.reset()
        func strings(_ v: JSONValue?) -> [String] {
            if case let .array(a)? = v { return a.compactMap(\.stringValue) }
            return []
        }
        func check(_ what: String, _ expected: String, _ got: String, at step: Int) {
            guard expected != got else { return }
            // Show where the texts part, with some context.
            let common = zip(expected, got).prefix { $0 == $1 }.count
            func cut(_ s: String) -> String { String(s.dropFirst(max(0, common - 40)).prefix(160)).debugDescription }
            r.differences.append("step \(step) \(what), from character \(common):\n  real:   \(cut(expected))\n  native: \(cut(got))")
        }
        check("intro", transcript["intro"]?.stringValue ?? "", world.intro, at: 0)
        check("admissible", strings(transcript["admissible"]).joined(separator: " | "), world.admissibleCommands.joined(separator: " | "), at: 0)
        guard case let .array(steps)? = transcript["steps"] else { r.differences.append("transcript has no steps"); return r }
        for (k, s) in steps.enumerated() {
            let cmd = s["command"]?.stringValue ?? ""
            let fb = world.execute(cmd).feedback
            r.steps += 1
            check("feedback of '\(cmd)'", s["feedback"]?.stringValue ?? "", fb, at: k + 1)
            check("admissible after '\(cmd)'", strings(s["admissible"]).joined(separator: " | "), world.admissibleCommands.joined(separator: " | "), at: k + 1)
            let won = s["won"] == .bool(true)
            if won != world.won { r.differences.append("step \(k + 1) won: real \(won), native \(world.won)") }
            if r.differences.count > 20 { break }
        }
        return r
    }
}
