import Agents
// TEMPORARY until the policy branch lands.
extension Shell {
    func requireContext(_ m: Policy, _ input: AgentInput) throws {}
}
extension Policy {
    func evaluate(_ input: AgentInput, outputs: [[Int32]], lambda: Float, temperature: Float) throws -> [PolicyEvaluation] {
        try outputs.map { try evaluate(input, outputTokens: $0, lambda: lambda, temperature: temperature) }
    }
}
