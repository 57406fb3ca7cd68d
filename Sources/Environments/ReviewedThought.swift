import Support

/// A thought a corrector reviews (GTR §5.2), with the episode facts its questions embed. The state itself is the
/// environment the capabilities are asked on (`correctorQuestions(for:)`, `oracleJudgement(of:rng:)`).
public struct ReviewedThought: Sendable {
    /// The agent's output as a JSON object without its `action` key (what GTR sends as "[Thought]").
    public var thought: JSONValue
    /// The agent's own action string, or nil when its output named none.
    public var agentAction: String?
    /// The formula written so far (formula games), joined without spaces.
    public var currentFormula: String?
    /// The episode's target formula; nil means NOT DETERMINED.
    public var targetFormula: String?
    /// The environment's text rendering of the state (the generic questions show it).
    public var observationText: String

    public init(thought: JSONValue, agentAction: String?, currentFormula: String?, targetFormula: String?, observationText: String) {
        self.thought = thought; self.agentAction = agentAction; self.currentFormula = currentFormula
        self.targetFormula = targetFormula; self.observationText = observationText
    }

    /// The thought as GTR serialises it for the corrector (compact JSON).
    public var thoughtText: String { thought.serialized() }
}
