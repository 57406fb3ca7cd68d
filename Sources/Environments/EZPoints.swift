import Support

/// gym-cards EZPoints-v0: two cards whose values make 12 by + or *; actions 1…10, '+', '*', '='.
public final class EZPoints: FormulaCardGame, Environment {
    public let name = "ezpoints"

    public init() {
        super.init(target: 12, cardCount: 2, maxFormulaLength: 5, allowedNumbers: Array(1...10), operators: ["+", "*", "="])
    }

    @discardableResult
    public func reset(seed: UInt64?, options: [String: String]) throws -> Observation {
        try beginReset(seed: seed, options: options, known: ["cards"])
        startEpisode(cards: try options["cards"].map(parseDeal) ?? deal(), countFaceAsTen: true)
        return observe()
    }

    /// First rank uniform 2…13; a value in {1,2,3,4,6} pairs multiplicatively with probability ½ (12 // v),
    /// otherwise additively (12 − v); random suits; the order is swapped with probability ½.
    private func deal() -> [Card] {
        let r0 = rng.int(in: 2...13)
        let s0 = rng.pick(Card.Suit.allCases)
        let v0 = min(r0, 10)
        let v1 = [1, 2, 3, 4, 6].contains(v0) && rng.unit() <= 0.5 ? 12 / v0 : 12 - v0
        let s1 = rng.pick(Card.Suit.allCases)
        var hand = [Card(suit: s0, rank: r0), Card(suit: s1, rank: v1)]
        if rng.unit() <= 0.5 { hand.reverse() }
        return hand
    }

    public func step(_ action: String) throws -> StepResult {
        let hit = try beginStep()
        let (r, term, trunc) = try formulaStep(action)
        return finish(StepResult(observation: observe(), reward: r, terminated: term, truncated: trunc, info: info,
                                 executedAction: action), hitLimit: hit)
    }

    public func observe() -> Observation {
        Observation(image: renderFrames ? render() : RGBImage(width: 0, height: 0), text: textObservation)
    }

    /// Cards 135×189 at x = 5 and 153, y = 55; "Formula: …" at (10, 258).
    public func render() -> RGBImage {
        var img = RGBImage(width: 300, height: 300, fill: .table)
        let w = Int(300.0 / 2 * 0.9), h = Int(Double(Int(300.0 / 2 * 0.9)) * 7 / 5)
        drawTable(cardWidth: w, cardHeight: h, y: (300 - h) / 2, on: &img)
        BitmapFont.draw("Formula: " + formula.map(\.description).joined(separator: " "), x: 10, y: 258, scale: 2,
                        color: .white, on: &img)
        return img
    }

    public func prompt(thoughts: Bool) -> String {
        let f = formulaText
        var q = "You are an expert card game player. "
        q += observationMode == .text ? "You are observing two cards: \(cardsInWords). " : "You are observing two cards in the image. "
        q += "You are observing the current formula: \(f). "
        q += "You can choose between ['1', '2', '3', '4', '5', '6', '7', '8', '9', '10', '+', '*', '=']. "
        q += "The number or operator you choose will be appended to the current formula. "
        q += "Note that 'J', 'Q', and 'K' count as '10'. "
        q += "Your goal is to output a formula that evaluates to 12, and each number can only be used once. "
        q += "Your response should be a valid json file in the following format: \\{\n"
        if thoughts {
            q += " \"cards\": [x, y], \n"
            q += "\"current formula\": \(f), \n"
            q += "\"thoughts\": {First check whether the current formula 'z' is complete. "
            q += "If the current formula 'z' is complete, output '='. "
            q += "Otherwise consider which number or operator should be appended to the current formula to make it equal 12.} \n"
        }
        q += "\"action\": \"{number}\" or \"{operator}\" \n \\}"
        return q
    }

    public func clone() -> Environment {
        let o = EZPoints()
        copyGame(to: o)
        return o
    }
}
