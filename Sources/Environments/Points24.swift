import Support

/// gym-cards Points24-v0: four cards, append numbers and operators, `=` scores 10 when the formula is exactly 24
/// and uses all four cards.
///
/// Options: `cards=HJ,DJ,S6,DK` (explicit deal), `solvable_only=true`, `ranks=13` (J/Q/K count 11/12/13 and the
/// action set has 20 entries), plus the common `invalid=`, `time_limit=`, `seed=`.
public final class Points24: FormulaCardGame, Environment {
    public let name = "points24"
    public private(set) var solvableOnly = false
    public private(set) var faceAsTen = true

    public init() {
        super.init(target: 24, cardCount: 4, maxFormulaLength: 20, allowedNumbers: Array(1...10),
                   operators: ["+", "-", "*", "/", "(", ")", "="])
    }


    @discardableResult
    public func reset(seed: UInt64?, options: [String: String]) throws -> Observation {
        try beginReset(seed: seed, options: options, known: ["cards", "solvable_only", "ranks"])
        if let v = options["ranks"] {
            guard v == "10" || v == "13" else { throw EnvironmentError.badOption("ranks=\(v): expected 10 or 13") }
            faceAsTen = v == "10"
            allowedNumbers = faceAsTen ? Array(1...10) : Array(1...13)
        }
        if let v = options["solvable_only"] {
            guard let b = Bool(v) else { throw EnvironmentError.badOption("solvable_only=\(v): expected true or false") }
            solvableOnly = b
        }
        let dealt: [Card]
        if let spec = options["cards"] {
            dealt = try parseDeal(spec)
        } else {
            var hand = deal()
            var tries = 0
            while solvableOnly, !solver.solvable(hand.map { faceAsTen ? $0.value10 : $0.rank }), tries < 10_000 {
                hand = deal(); tries += 1
            }
            dealt = hand
        }
        startEpisode(cards: dealt, countFaceAsTen: faceAsTen)
        return observe()
    }

    /// 4 independent ranks uniform in 1…13 and independent suits, as gym-cards deals.
    private func deal() -> [Card] {
        let ranks = (0..<4).map { _ in rng.int(in: 1...13) }
        let suits = (0..<4).map { _ in rng.pick(Card.Suit.allCases) }
        return zip(ranks, suits).map { Card(suit: $1, rank: $0) }
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

    /// 300×300 frame at gym-cards' geometry: cards 67×93 at x = 5 + int(i·67·1.1), y = 103; "Formula:" at
    /// (10, 210) and the space-joined formula at (10, 240).
    public func render() -> RGBImage {
        var img = RGBImage(width: 300, height: 300, fill: .table)
        let w = Int(300.0 / 4 * 0.9), h = Int(Double(Int(300.0 / 4 * 0.9)) * 7 / 5)
        drawTable(cardWidth: w, cardHeight: h, y: (300 - h) / 2, on: &img)
        BitmapFont.draw("Formula:", x: 10, y: 210, scale: 2, color: .white, on: &img)
        BitmapFont.draw(formula.map(\.description).joined(separator: " "), x: 10, y: 240, scale: 2, color: .white, on: &img)
        return img
    }

    /// GTR's Points24 prompt (RL4VLM's with the "thee" typo fixed), byte for byte, including the literal
    /// backslashes before the braces that Python kept.
    public func prompt(thoughts: Bool) -> String {
        let f = formulaText
        let list = actions.map { "'\($0)'" }.joined(separator: ", ")
        var q = "You are an expert 24 points card game player. "
        q += observationMode == .text ? "You are observing four cards: \(cardsInWords). " : "You are observing four cards in the image. "
        q += "You are observing the current formula: \(f). "
        q += "You can choose between [\(list)]. "
        q += "The number or operator you choose will be appended to the current formula. "
        if faceAsTen { q += "Note that 'J', 'Q', and 'K' count as '10'. " }
        q += "Your goal is to output a formula that evaluates to 24, and each number can only be used once. "
        q += "Your response should be a valid json file in the following format: \\{\n"
        if thoughts {
            q += " \"cards\": [x, y, z, w], \n"
            q += "\"current formula\": \(f), \n"
            q += "\"thoughts\": {First check whether the current formula equals 24. "
            q += "If the current formula equals 24, output '='. "
            q += "Otherwise consider which number or operator should be appended to the current formula to make it equal 24.} \n"
        }
        q += "\"action\": \"{number}\" or \"{operator}\" \n \\}"
        return q
    }

    /// All solutions for the hand, and those that complete the current formula.
    public func solutions() -> (all: [Solution], completing: [Solution]) {
        let all = solver.solutions(numbers)
        return (all, all.filter { $0.completes(formula) })
    }

    public func clone() -> Environment {
        let o = Points24()
        copyGame(to: o)
        o.solvableOnly = solvableOnly; o.faceAsTen = faceAsTen
        return o
    }
}
