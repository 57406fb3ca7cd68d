import Support

/// gym-cards Blackjack-v0 (gymnasium Blackjack-v1 rules with natural=False, sab=False): infinite deck,
/// "hit" draws (bust → −1), "stand" lets the dealer draw to 17 and scores sign(player − dealer), bust = 0.
public final class Blackjack: EnvironmentBase, Environment {
    public let name = "blackjack"
    /// (value, face, suit) as gym-cards' info lists them; value 10 is always a J/Q/K face.
    public struct Drawn: Sendable, Equatable { public let value: Int; public let face: String; public let suit: Card.Suit }
    public private(set) var dealer: [Drawn] = []
    public private(set) var player: [Drawn] = []
    public private(set) var lastScores: (player: Int, dealer: Int)?

    public override init() { super.init() }

    public var actions: [String] { ["stand", "hit"] }
    public var legalActions: [String] { actions }
    public var requiredKeys: [String] { ["thoughts", "action"] }
    public var invalidReward: Double { -1 }

    public var info: JSONValue {
        func list(_ h: [Drawn]) -> JSONValue {
            .array(h.map { .array([.number(Double($0.value)), .string($0.face), .string(String($0.suit.rawValue))]) })
        }
        return .object([("Dealer Card", list(dealer)), ("Player Card", list(player))])
    }

    static func sumHand(_ h: [Drawn]) -> Int {
        let s = h.reduce(0) { $0 + $1.value }
        return h.contains { $0.value == 1 } && s + 10 <= 21 ? s + 10 : s
    }
    static func score(_ h: [Drawn]) -> Int { sumHand(h) > 21 ? 0 : sumHand(h) }
    public var playerTotal: Int { Blackjack.sumHand(player) }
    public var hasUsableAce: Bool { player.contains { $0.value == 1 } && player.reduce(0) { $0 + $1.value } + 10 <= 21 }

    public var textObservation: String {
        let p = player.map { "\($0.suit.rawValue)\($0.face)" }.joined(separator: " ")
        var s = "Dealer: \(dealer.first.map { "\($0.suit.rawValue)\($0.face)" } ?? "?") ?? | Player: \(p) (total \(playerTotal)\(hasUsableAce ? ", usable ace" : ""))"
        if isDone, let sc = lastScores { s += " | final: player \(sc.player), dealer \(sc.dealer) (\(dealer.map { "\($0.suit.rawValue)\($0.face)" }.joined(separator: " ")))" }
        return s
    }

    private func draw() -> Drawn {
        let deck = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 10, 10, 10]
        let v = rng.pick(deck)
        let suit = rng.pick([Card.Suit.clubs, .diamonds, .hearts, .spades])
        let face = v == 1 ? "A" : (v == 10 ? rng.pick(["J", "Q", "K"]) : String(v))
        return Drawn(value: v, face: face, suit: suit)
    }

    @discardableResult
    public func reset(seed: UInt64?, options: [String: String]) throws -> Observation {
        try beginReset(seed: seed, options: options, known: [])
        dealer = [draw(), draw()]
        player = [draw(), draw()]
        lastScores = nil
        return observe()
    }

    public func step(_ action: String) throws -> StepResult {
        guard actions.contains(action) else { throw EnvironmentError.unknownAction(action, legal: actions) }
        let hit = try beginStep()
        var reward = 0.0, terminated = false
        if action == "hit" {
            player.append(draw())
            if Blackjack.sumHand(player) > 21 { terminated = true; reward = -1 }
        } else {
            terminated = true
            while Blackjack.sumHand(dealer) < 17 { dealer.append(draw()) }
            let (p, d) = (Blackjack.score(player), Blackjack.score(dealer))
            reward = p > d ? 1 : (p < d ? -1 : 0)
        }
        if terminated { lastScores = (Blackjack.score(player), Blackjack.score(dealer)) }
        return finish(StepResult(observation: observe(), reward: reward, terminated: terminated, truncated: false,
                                 info: info, executedAction: action), hitLimit: hit)
    }

    public func observe() -> Observation {
        Observation(image: renderFrames ? render() : RGBImage(width: 0, height: 0), text: textObservation)
    }

    /// "Dealer" at (5, 5), up-card at (5, 25) and a card back at (78, 25); "Player" at (5, 130), player cards
    /// 70×98 from (5, 150), x step 74, wrapping to a second row after the fifth.
    public func render() -> RGBImage {
        var img = RGBImage(width: 300, height: 300, fill: .table)
        BitmapFont.draw("Dealer", x: 5, y: 5, scale: 2, color: .white, on: &img)
        if let up = dealer.first { CardPainter.draw(card(up), x: 5, y: 25, w: 70, h: 98, on: &img) }
        CardPainter.drawBack(x: 78, y: 25, w: 70, h: 98, on: &img)
        BitmapFont.draw("Player", x: 5, y: 130, scale: 2, color: .white, on: &img)
        var (x, y) = (5, 150)
        for (i, d) in player.enumerated() {
            CardPainter.draw(card(d), x: x, y: y, w: 70, h: 98, on: &img)
            x += 74
            if i == 4 { y += 102; x = 5 }
        }
        return img
    }

    private func card(_ d: Drawn) -> Card {
        Card(suit: d.suit, rank: d.value == 10 ? ["J": 11, "Q": 12, "K": 13][d.face]! : d.value)
    }

    public func prompt(thoughts: Bool) -> String {
        var q = "You are a blackjack player. You are observing the current game state, "
        if observationMode == .text {
            let hand = player.map { "'\($0.face)'" }.joined(separator: ", ")
            q += "which is: the dealer shows '\(dealer.first?.face ?? "?")' and one card face down; your cards are \(hand), "
                + "total \(playerTotal)\(hasUsableAce ? " with a usable ace" : ""). You can choose between ['stand', 'hit']. "
        } else {
            q += "you can choose between ['stand', 'hit']. "
        }
        q += "Your response should be a valid json file in the following format: \n{\n "
        if thoughts {
            q += "\"thoughts\": \"{first describe your total points and the dealer's total points then think about which action to choose}\", \n"
        }
        q += "\"action\": \"stand\" or \"hit\" \n}"
        return q
    }

    public func project(_ text: String) -> ProjectedAction { projectAction(text, keywords: actions, pointsRules: false) }
    public func randomLegalAction() -> String { rng.pick(actions) }
    public func terminalView(ansi: Bool) -> String {
        TerminalCards.row(dealer.prefix(1).map(card), ansi: ansi, hidden: 1) + "\n" + TerminalCards.row(player.map(card), ansi: ansi) + "\n" + textObservation
    }

    public func clone() -> Environment {
        let o = Blackjack()
        copyBase(to: o)
        o.dealer = dealer; o.player = player; o.lastScores = lastScores
        return o
    }
}
