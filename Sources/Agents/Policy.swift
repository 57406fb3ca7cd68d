import Environments

/// What every agent backend answers for one observation: the text it wrote and where its action sits.
/// Backends (the tiny VLM, SmolLM2 from GGUF, remote endpoints) arrive with the agent issue; the shell and the
/// trainer depend only on this protocol.
public struct PolicyOutput: Sendable {
    public var text: String
    public var tokenIDs: [Int32]
    public var tokenLogProbs: [Float]
    public init(text: String, tokenIDs: [Int32] = [], tokenLogProbs: [Float] = []) {
        self.text = text; self.tokenIDs = tokenIDs; self.tokenLogProbs = tokenLogProbs
    }
}

public protocol Policy: AnyObject {
    var name: String { get }
    func generate(observation: Observation, prompt: String) throws -> PolicyOutput
}
