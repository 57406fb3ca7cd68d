import Foundation
import Support

/// One expert answer: GTR-format JSON text and the action it names.
public struct ExpertAnswer: Sendable, Equatable {
    public var text: String
    public var action: String
    public var thought: String
}

/// Writes what a good agent would write for the current state: the cards of the deal (or the numbers on the
/// screen), the current formula, a state-specific thought in one of several phrasings, and the right next
/// action. Phrasing is drawn from `rng`, the facts come from the state and the solver.
public enum Expert {
    /// The card games (whose prompts every tiny-VLM tokenizer also learns).
    public static let environments = ["points24", "ezpoints", "numberline", "blackjack"]
    /// Every environment with an expert: the card games and the household tasks (what `sft env=` accepts).
    public static let sftEnvironments = environments + ["alfworld"]

    /// - Parameter targetFormula: for Points24 / EZPoints, the solution to follow when it still completes the
    ///   current formula (the oracle corrector passes the episode's target so corrections stay on one formula).
    public static func answer(_ env: Environment, rng: inout SeededRNG, targetFormula: [FormulaToken]? = nil) throws -> ExpertAnswer {
        switch env {
        case let p as Points24:
            return formulaGame(p, cards: p.cards, numbers: p.numbers, target: 24, solver: p.solver, preferred: targetFormula, rng: &rng)
        case let e as EZPoints:
            return formulaGame(e, cards: e.cards, numbers: e.numbers, target: 12, solver: ezSolver, preferred: targetFormula, rng: &rng)
        case let n as NumberLine: return numberLine(n, rng: &rng)
        case let b as Blackjack: return blackjack(b, rng: &rng)
        case let h as Household: return try household(h, rng: &rng)
        default: throw EnvironmentError.badOption("no expert for \(env.name) (experts: \(environments.joined(separator: ", ")))")
        }
    }

    /// ALFWorld: what the agent is at and holds, then the expert's next command toward the task.
    static func household(_ h: Household, rng: inout SeededRNG) throws -> ExpertAnswer {
        guard let w = h.world, let next = HouseholdExpert.next(w) else {
            throw EnvironmentError.badOption("the household expert has no next command here (the task is done or has no plan)")
        }
        let here = w.here.map { w.name($0) }
        let visible = w.here.flatMap { r in w.objects.filter { w.state.inReceptacle[$0] == r } }.map { w.name($0) }
        let place = here.isEmpty ? "I am in the middle of the room" : "I am at \(HouseholdWorld.list(here, article: false))"
        let sees = visible.isEmpty ? "" : rng.pick([" and I see \(HouseholdWorld.list(visible))", ", where there is \(HouseholdWorld.list(visible))"])
        let holds = w.state.holding.map { ", holding the \(w.name($0))" } ?? rng.pick([", with empty hands", ", holding nothing"])
        let why = rng.pick(["To \(h.task), the next step is to \(next).", "My task is to \(h.task), so next I \(next).",
                            "The task is to \(h.task); I should \(next) now."])
        let thought = "\(place)\(sees)\(holds). \(why)"
        return ExpertAnswer(text: "{\"thoughts\": \(quote(thought)), \"action\": \(quote(next))}", action: next, thought: thought)
    }

    /// The solver EZPoints uses (12 from two cards with + and *).
    public static let ezSolver = Solver(target: 12, operators: ["+", "*"])

    /// The right action under basic strategy (what the expert plays and the oracle checks).
    public static func blackjackAction(_ b: Blackjack) -> String {
        let total = b.playerTotal, soft = b.hasUsableAce
        let up = b.dealer.first.map { $0.value } ?? 10
        let hit: Bool
        if soft { hit = total <= 17 || (total == 18 && (up >= 9 || up == 1)) } else if total >= 17 { hit = false } else if total >= 13 { hit = !(2...6).contains(up) } else if total == 12 { hit = !(4...6).contains(up) } else { hit = true }
        return hit ? "hit" : "stand"
    }

    /// A JSON string literal.
    static func quote(_ s: String) -> String { JSONValue.string(s).serialized() }

    public static func rankName(_ c: Card) -> String { [1: "A", 11: "J", 12: "Q", 13: "K"][c.rank] ?? String(c.rank) }

    public static func list(_ items: [String]) -> String {
        items.count <= 1 ? items.joined() : items.dropLast().joined(separator: ", ") + " and " + items.last!
    }

    /// Points24 and EZPoints: follow the first solution (shortest, then lexicographic) that completes the current
    /// formula, so the target stays the same from step to step.
    static func formulaGame(_ g: FormulaCardGame, cards: [Card], numbers: [Int], target: Int, solver: Solver,
                            preferred: [FormulaToken]?, rng: inout SeededRNG) -> ExpertAnswer {
        let f = g.formulaText
        let shown = g.formula.filter { $0 != .blank }
        let faces = cards.map(rankName)
        let faceText = list(faces)
        let valueText = list(numbers.map(String.init))
        let hasFace = cards.contains { $0.rank == 1 || $0.rank > 10 }
        var s: [String] = []
        s.append(rng.pick([
            hasFace ? "I see \(faceText), which count as \(valueText)." : "I see \(faceText).",
            hasFace ? "The cards are \(faceText), so the numbers are \(valueText)." : "The cards are \(valueText).",
            "My cards: \(faceText)" + (hasFace ? " (values \(valueText))." : "."),
            "On the table: \(faceText)" + (hasFace ? ", that is \(valueText)." : "."),
        ]))
        let action: String
        let all = solver.solutions(numbers)
        let completing = all.filter { $0.completes(g.formula) }
        let shownForm = g.formula.filter { $0 != .blank }
        let preferredForm = preferred.flatMap { p -> [FormulaToken]? in
            guard p.count >= shownForm.count, Array(p[0..<shownForm.count]) == shownForm,
                  let v = try? FormulaEvaluator.evaluate(p), v == Rational(target),
                  p.compactMap({ if case let .number(n) = $0 { return n }; return nil }).sorted() == numbers.sorted() else { return nil }
            return p
        }
        if let form = preferredForm ?? completing.first?.forms(startingWith: g.formula).first {
            let targetText = form.map(\.description).joined()
            if shown.count >= form.count {
                action = "="
                s.append(rng.pick([
                    "The formula \(f) uses every card and equals \(target), so I finish with '='.",
                    "\(f) is complete and makes \(target); I output '='.",
                    "Done: \(f) = \(target) with all cards used, time for '='.",
                ]))
            } else {
                let next = form[shown.count].description
                action = next
                let why: String
                switch next {
                case "(": why = rng.pick(["to open a bracket", "because a group comes first"])
                case ")": why = rng.pick(["to close the bracket", "since the group is complete"])
                case "+", "-", "*", "/": why = rng.pick(["as the next operator", "to combine the next number", "as the operation that follows"])
                default: why = rng.pick(["as the next number", "since that card comes next", "to use that card now"])
                }
                if shown.isEmpty {
                    s.append(rng.pick([
                        "\(targetText) makes \(target). The formula is empty, so I start with '\(next)' \(why).",
                        "A solution is \(targetText) = \(target). I begin with '\(next)' \(why).",
                        "I can reach \(target) with \(targetText); first comes '\(next)' \(why).",
                        "Target formula: \(targetText). Nothing is written yet, so '\(next)' \(why).",
                    ]))
                } else {
                    s.append(rng.pick([
                        "The current formula \(f) is not \(target) yet. Following \(targetText), I append '\(next)' \(why).",
                        "\(f) is a start of \(targetText) = \(target); next is '\(next)' \(why).",
                        "So far \(f). The target formula \(targetText) continues with '\(next)' \(why).",
                        "Formula \(f) does not equal \(target) yet; to complete \(targetText) I add '\(next)' \(why).",
                    ]))
                }
            }
        } else if all.isEmpty {
            action = "="
            s.append(rng.pick([
                "No formula with these cards makes \(target), so I end the hand with '='.",
                "These numbers cannot reach \(target) at all; I output '='.",
            ]))
        } else {
            action = "="
            s.append(rng.pick([
                "The formula \(f.isEmpty ? "(empty)" : f) can no longer reach \(target), for example \(all[0].text) would; I end it with '='.",
                "\(f.isEmpty ? "The empty formula" : f) cannot be completed to \(target); I output '=' to finish.",
            ]))
        }
        let thought = s.joined(separator: " ")
        let text = "{\"cards\": [\(numbers.map(String.init).joined(separator: ", "))], \"formula\": \(quote(f)), "
            + "\"thoughts\": \(quote(thought)), \"action\": \(quote(action))}"
        return ExpertAnswer(text: text, action: action, thought: thought)
    }

    static func numberLine(_ n: NumberLine, rng: inout SeededRNG) -> ExpertAnswer {
        let (c, t) = (n.position, n.goal)
        let action = t > c ? "+" : "-"
        let thought: String
        if t > c {
            thought = rng.pick([
                "The current number \(c) is below the target \(t), so I add one.",
                "\(c) is smaller than \(t); moving up with '+' gets closer.",
                "Current \(c), target \(t): I need to go up, '+'.",
            ])
        } else if t < c {
            thought = rng.pick([
                "The current number \(c) is above the target \(t), so I subtract one.",
                "\(c) is larger than \(t); moving down with '-' gets closer.",
                "Current \(c), target \(t): I need to go down, '-'.",
            ])
        } else {
            thought = "The current number \(c) already equals the target \(t)."
        }
        let text = "{\"current number\": \(c), \"target number\": \(t), \"thoughts\": \(quote(thought)), \"action\": \(quote(action))}"
        return ExpertAnswer(text: text, action: action, thought: thought)
    }

    /// Basic strategy for an infinite deck, dealer stands on 17.
    static func blackjack(_ b: Blackjack, rng: inout SeededRNG) -> ExpertAnswer {
        let total = b.playerTotal, soft = b.hasUsableAce
        let up = b.dealer.first.map { $0.value } ?? 10
        let upName = b.dealer.first.map { $0.face } ?? "?"
        let hit = blackjackAction(b) == "hit"
        let cards = list(b.player.map(\.face))
        let dealerPoints = up == 1 ? 11 : up
        var s = rng.pick([
            "I have \(cards) for \(total)\(soft ? " (soft)" : "") points; the dealer shows \(upName), \(dealerPoints) points.",
            "My total is \(total)\(soft ? " with a usable ace" : "") from \(cards), and the dealer's up card \(upName) is worth \(dealerPoints).",
            "Player: \(cards) = \(total)\(soft ? " soft" : ""). Dealer: \(upName) = \(dealerPoints).",
        ])
        if hit {
            s += " " + rng.pick([total <= 11 ? "No card can bust me, so I hit." : "\(total) is too weak against \(dealerPoints), so I hit.",
                                 "Standing on \(total) loses too often here; I take a card."])
        } else {
            s += " " + rng.pick([total >= 17 ? "\(total) is strong enough, I stand." : "The dealer is likely to bust with \(dealerPoints), so I stand on \(total).",
                                 "Hitting risks a bust; I stand."])
        }
        let action = hit ? "hit" : "stand"
        return ExpertAnswer(text: "{\"thoughts\": \(quote(s)), \"action\": \(quote(action))}", action: action, thought: s)
    }
}
