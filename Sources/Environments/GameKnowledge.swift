/// What the shell, the correctors, the trainer and the environment server may ask of any environment, so that
/// none of them names a concrete game. Each capability has a neutral default ("this game has no formula", "no
/// expert"); the games override what they support. Adding a game touches only `Environments` and its
/// registry line. The corrector's questions (`CorrectorQuestions.swift`), the oracle's judgement
/// (`OracleJudgement.swift`) and the facts card recognition is scored against (`StateFacts.swift`) are capabilities
/// of the same kind, each in its own file; `GameCapabilityTests` checks every registered game answers them.

/// The solutions of a formula game's hand, for `solve`: the numbers dealt, every distinct solution, and the
/// formula written so far (solutions that complete it are the ones an agent can still reach).
public struct SolutionReport: Sendable {
    public var numbers: [Int]
    public var all: [Solution]
    public var formula: [FormulaToken]
    public var formulaText: String
    public var completing: [Solution] { all.filter { $0.completes(formula) } }
    /// The next token each completing solution writes (nil when the formula is already complete).
    public func next(for s: Solution) -> (token: String, via: String)? {
        let written = formula.filter { $0 != .blank }.count
        guard s.completes(formula), let form = s.forms(startingWith: formula).first, form.count > written else { return nil }
        return (form[written].description, form.map(\.description).joined())
    }
}

/// The expert's advice for the current state: the next action and, for planning games, the whole plan.
public struct ExpertAdvice: Sendable {
    public var next: String
    public var plan: [String]
}

/// Progress toward the goal, for games with goal conditions (household tasks).
public struct GoalProgress: Sendable {
    public var task: String
    public var kind: String
    public var satisfied: Int
    public var total: Int
    public var won: Bool
}

extension Environment {
    /// The formula written so far (formula games), nil for games without one.
    public var currentFormula: String? { (self as? FormulaCardGame)?.formulaText }

    /// Whether the deal can be won at all (formula games), nil when the game does not say.
    public var solvable: Bool? {
        guard let g = self as? FormulaCardGame else { return nil }
        return g.solver.solvable(g.numbers)
    }

    /// Every solution of the hand (formula games), nil otherwise.
    public var solutionReport: SolutionReport? {
        guard let g = self as? FormulaCardGame else { return nil }
        return SolutionReport(numbers: g.numbers, all: g.solver.solutions(g.numbers), formula: g.formula, formulaText: g.formulaText)
    }

    /// True when an action is a multi-word command typed as words (`act go to fridge 1`), false when each word is
    /// one action token (`act 10 * 2`).
    public var actionsAreCommands: Bool { self is Household }

    /// The expert's next action and plan from this state, nil when the game has no planning expert.
    public var expertAdvice: ExpertAdvice? {
        guard let h = self as? Household, let w = h.world, !w.won else { return nil }
        let plan = HouseholdExpert.plan(w)
        guard let first = plan.first else { return nil }
        return ExpertAdvice(next: first, plan: plan)
    }

    /// The task and its goal conditions, nil for games without a goal of that kind.
    public var goalProgress: GoalProgress? {
        guard let h = self as? Household, h.world != nil else { return nil }
        let gc = h.goalConditions
        return GoalProgress(task: h.task, kind: h.goal?.task.rawValue ?? "unknown type", satisfied: gc.satisfied, total: gc.total, won: h.won)
    }

    /// True when the corrector tracks a target formula across the episode (GTR §5.4: Points24).
    public var tracksTargetFormula: Bool { self is Points24 }
}

extension FormulaCardGame {
    /// The exact solver for this game's target and operators.
    public var solver: Solver { target == 24 ? Solver.points24 : Expert.ezSolver }
}
