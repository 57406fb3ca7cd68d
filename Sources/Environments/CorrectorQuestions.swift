import Support

/// What a corrector is asked about a state (the GTR corrector prompt, §5.2 table): a system prompt restating the
/// game, then the evaluation questions, the reply schema and the data lines. Written for gtr after the structure
/// of GTR's prompts. Each game that knows its questions conforms to `AsksCorrectorQuestions`; any other game gets
/// the generic questions, so a corrector can always ask something.
public struct CorrectorQuestions: Sendable, Equatable {
    public var system: String
    public var user: String
    /// How many `answerN` fields the reply has.
    public var questionCount: Int
    /// Whether the reply has `possible_solution` and `target_formula` (Points24 only, as in GTR).
    public var hasTarget: Bool
    /// Whether the solver is offered as the tool `find_all_correct_formulas` (`SolverTool`; Points24 while the
    /// target is NOT DETERMINED).
    public var offersTool: Bool

    public init(system: String, user: String, questionCount: Int, hasTarget: Bool, offersTool: Bool) {
        self.system = system; self.user = user; self.questionCount = questionCount
        self.hasTarget = hasTarget; self.offersTool = offersTool
    }

    /// What the prompt shows while the episode has no target formula yet.
    public static let notDetermined = "NOT DETERMINED"

    /// The last instruction of every question set.
    public static let closing = "Please briefly answer the above questions, then give your final evaluation. If the thought is "
        + "incorrect, use all available information to correct it: determine the next proper action"
}

/// A game whose corrector questions gtr knows.
protocol AsksCorrectorQuestions {
    func questions(for r: ReviewedThought) -> CorrectorQuestions
}

extension Environment {
    /// The corrector's questions about this state and the reviewed thought; the generic questions (observation and
    /// action) for a game that has none of its own.
    public func correctorQuestions(for r: ReviewedThought) -> CorrectorQuestions {
        (self as? AsksCorrectorQuestions)?.questions(for: r) ?? genericQuestions(for: r)
    }

    func genericQuestions(for r: ReviewedThought) -> CorrectorQuestions {
        let system = "You are judging the reasoning of a player in the game '\(name)'."
        let user = """
        You will be given an observation and the thought of a player. The player's thought may be wrong, please evaluate \
        its correctness:
        1. Does the thought describe the observation correctly?
        2. Is the chosen action a good next action?
        \(CorrectorQuestions.closing) and finally provide the correct thought.
        Reply with one JSON object: {"answer1": "...", "answer2": "...", "evaluation": "YES" or "NO", "correction": {...} or null}
        [Observation] \(r.observationText)
        \(r.thoughtLine)
        """
        return CorrectorQuestions(system: system, user: user, questionCount: 2, hasTarget: false, offersTool: false)
    }
}

extension ReviewedThought {
    var thoughtLine: String { "[Thought] " + thoughtText }
    var formulaLine: String { "[Current Formula] '\(currentFormula ?? "")'" }
}

extension Points24: AsksCorrectorQuestions {
    func questions(for r: ReviewedThought) -> CorrectorQuestions {
        let target = r.targetFormula ?? CorrectorQuestions.notDetermined
        let undetermined = r.targetFormula == nil
        let system = "You are an expert 24 points card game player. Four cards are dealt; 'A' counts as 1 and 'J', 'Q', 'K' "
            + "count as 10. A player builds a formula one number or operator at a time ('+', '-', '*', '/', '(', ')'), must "
            + "use every card exactly once, and finishes with '=' when the formula equals 24."
        let user = """
        You will be given an image of the four cards, the current formula, the target formula and the thought of a player \
        about what to append next. The player's thought may be wrong, please evaluate its correctness by the following aspects:
        1. What are the four cards in the image? If the target formula is 'NOT DETERMINED', call the tool \
        find_all_correct_formulas with the four cards and remember its results.
        2. Do the ranks of the cards in the player's thought match the cards in the image (in any order)?
        3. Which formula does the thought propose? Does it match the target formula, or, when the target is 'NOT \
        DETERMINED', one of the formulas the tool returned that starts with the current formula?
        4. What is the correct next single number or operator to append to the current formula, or '=' if it is complete?
        \(CorrectorQuestions.closing) (the next single number or character to append) and finally provide the correct thought.
        Reply with one JSON object: {"answer1": "...", "answer2": "...", "answer3": "...", "answer4": "...", \
        "evaluation": "YES" or "NO", "possible_solution": "YES" or "NO" (can the four cards make 24 at all?), \
        "target_formula": "the full formula to follow", "correction": {"cards": [...], "formula": "...", "thoughts": "..."} or null}
        \(r.formulaLine)
        \(r.thoughtLine)
        [Target Formula] '\(target)'
        """
        return CorrectorQuestions(system: system, user: user, questionCount: 4, hasTarget: true, offersTool: undetermined)
    }
}

extension EZPoints: AsksCorrectorQuestions {
    func questions(for r: ReviewedThought) -> CorrectorQuestions {
        let system = "You are an expert card game player. Two cards are dealt; 'J', 'Q', 'K' count as 10. A player builds a "
            + "formula with '+' and '*' one number or operator at a time, must use both cards, and finishes with '=' when it equals 12."
        let user = """
        You will be given an image of the two cards, the current formula and the thought of a player about what to append \
        next. The player's thought may be wrong, please evaluate its correctness by the following aspects:
        1. What are the two cards in the image? Do the ranks in the player's thought match them (in any order)?
        2. Which formula does the thought propose, and does it evaluate to 12?
        3. What is the correct next single number or operator to append to the current formula, or '=' if it is complete?
        \(CorrectorQuestions.closing) (the next single number or character to append) and finally provide the correct thought.
        Reply with one JSON object: {"answer1": "...", "answer2": "...", "answer3": "...", "evaluation": "YES" or "NO", \
        "correction": {"cards": [...], "formula": "...", "thoughts": "..."} or null}
        \(r.formulaLine)
        \(r.thoughtLine)
        """
        return CorrectorQuestions(system: system, user: user, questionCount: 3, hasTarget: false, offersTool: false)
    }
}

extension NumberLine: AsksCorrectorQuestions {
    func questions(for r: ReviewedThought) -> CorrectorQuestions {
        let system = "You are playing a number line game: the image shows a current number and a target number; '+' adds one "
            + "and '-' subtracts one, and the goal is to move the current number to the target."
        let user = """
        You will be given an image of the game and the thought of a player. The player's thought may be wrong, please \
        evaluate its correctness by the following aspects:
        1. What are the current number and the target number in the image? Does the thought state them correctly?
        2. Which action, '+' or '-', brings the current number closer to the target?
        \(CorrectorQuestions.closing) ('+' or '-') and finally provide the correct thought.
        Reply with one JSON object: {"answer1": "...", "answer2": "...", "evaluation": "YES" or "NO", \
        "correction": {"current number": n, "target number": n, "thoughts": "..."} or null}
        \(r.thoughtLine)
        """
        return CorrectorQuestions(system: system, user: user, questionCount: 2, hasTarget: false, offersTool: false)
    }
}

extension Blackjack: AsksCorrectorQuestions {
    func questions(for r: ReviewedThought) -> CorrectorQuestions {
        let system = "You are an expert blackjack player (dealer stands on 17, aces count 1 or 11, face cards 10). The player "
            + "chooses 'hit' or 'stand' and wins by getting closer to 21 than the dealer without going over."
        let user = """
        You will be given an image of the table (the dealer's up card and the player's cards) and the thought of a player. \
        The player's thought may be wrong, please evaluate its correctness by the following aspects:
        1. What are the player's cards and total, and the dealer's visible card and points? Does the thought state them correctly?
        2. Which action, 'hit' or 'stand', gives the player the best chance to win?
        \(CorrectorQuestions.closing) ('hit' or 'stand') and finally provide the correct thought.
        Reply with one JSON object: {"answer1": "...", "answer2": "...", "evaluation": "YES" or "NO", \
        "correction": {"thoughts": "..."} or null}
        \(r.thoughtLine)
        """
        return CorrectorQuestions(system: system, user: user, questionCount: 2, hasTarget: false, offersTool: false)
    }
}

extension Household: AsksCorrectorQuestions {
    func questions(for r: ReviewedThought) -> CorrectorQuestions {
        let system = "You are an expert in the ALFRED embodied environment: the player must navigate, take certain objects, "
            + "interact with objects if necessary (heat in a microwave, cool in a fridge, clean in a sink, turn on a lamp), and "
            + "finally put objects in the designated place."
        let admissible = legalActions.map { "'\($0)'" }.joined(separator: ", ")
        let previous = history.map { "'\($0)'" }.joined(separator: ", ")
        let user = """
        You will be given an image of what the player sees, its task, its previous actions, its admissible actions and its \
        thought. The player's thought may be wrong, please evaluate its correctness by the following aspects:
        1. What objects are visible, and is the player holding something? Does the thought identify the image correctly?
        2. Given the task and the previous actions, what should the next sub-goal be (pick up the object, heat, cool, \
        clean or light it if needed, then place it)? Is the thought aligned with it?
        3. Does the chosen admissible action reach that sub-goal and take effect? (If the target is not in sight, go to an \
        unexplored location; take the required objects; use the receptacles.)
        \(CorrectorQuestions.closing) (one of the admissible actions) and finally provide the correct thought.
        Reply with one JSON object: {"answer1": "...", "answer2": "...", "answer3": "...", "evaluation": "YES" or "NO", \
        "correction": {"thoughts": "..."} or null}
        [Task] \(task)
        [Previous Actions] [\(previous)]
        [Admissible Actions] [\(admissible)]
        [The player's thought] \(r.thoughtText)
        """
        return CorrectorQuestions(system: system, user: user, questionCount: 3, hasTarget: false, offersTool: false)
    }
}
