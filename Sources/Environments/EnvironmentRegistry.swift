import Support

/// Names and constructors of every environment the shell can open.
public enum EnvironmentRegistry {
    public struct Entry: Sendable {
        public let name: String
        public let summary: String
        public let options: [String]
        public let make: @Sendable () -> Environment
    }

    public static let entries: [Entry] = [
        Entry(name: "points24", summary: "gym-cards Points24-v0: make 24 from four cards (the paper's hardest card task)",
              options: ["seed=", "cards=", "solvable_only=", "ranks=", "invalid=", "time_limit=", "observation="], make: { Points24() }),
        Entry(name: "ezpoints", summary: "gym-cards EZPoints-v0: make 12 from two cards with + and *",
              options: ["seed=", "cards=", "invalid=", "time_limit=", "observation="], make: { EZPoints() }),
        Entry(name: "numberline", summary: "gym-cards NumberLine-v0: move the current number to the target",
              options: ["seed=", "max_position=", "start=", "target=", "invalid=", "time_limit=", "observation="], make: { NumberLine() }),
        Entry(name: "blackjack", summary: "gym-cards Blackjack-v0: hit or stand against the dealer",
              options: ["seed=", "invalid=", "time_limit=", "observation="], make: { Blackjack() }),
        Entry(name: "alfworld", summary: "ALFWorld household tasks on gtr's native engine (generated rooms, or game=PATH of a game.tw-pddl)",
              options: ["seed=", "task=", "game=", "shared_locations=", "max_steps=", "gtr_truncation=", "parse=", "invalid=", "observation="], make: { Household() }),
    ]

    public static var names: [String] { entries.map(\.name) }

    public static func make(_ name: String) throws -> Environment {
        let key = name.lowercased().replacingOccurrences(of: "-v0", with: "").replacingOccurrences(of: "gym_cards/", with: "")
        if let e = entries.first(where: { $0.name == key }) { return e.make() }
        let close = names.filter { editDistance($0, key) <= 3 || $0.hasPrefix(key.prefix(3)) }
        throw EnvironmentError.unknownEnvironment(name, suggestions: close)
    }
}
