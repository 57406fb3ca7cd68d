import Environments

/// A corrector judges an agent's thought for the current state and may rewrite it (GTR §5). The oracle,
/// OpenAI-compatible and human correctors implement this with the correctors issue.
public struct Correction: Sendable {
    public var verdict: Bool
    public var correctedThought: JSONValue?
    public var targetFormula: String?
    public init(verdict: Bool, correctedThought: JSONValue? = nil, targetFormula: String? = nil) {
        self.verdict = verdict; self.correctedThought = correctedThought; self.targetFormula = targetFormula
    }
}

public protocol Corrector: AnyObject {
    var name: String { get }
    func correct(env: Environment, thought: JSONValue) throws -> Correction
}
