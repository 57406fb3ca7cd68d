import Agents
import Environments

/// Agents know no game, so turning an environment's state into what an agent sees happens here, one layer up.
extension AgentInput {
    /// The input for an environment's current state: its frame and the GTR prompt with thought fields.
    public static func from(_ env: Environment) -> AgentInput {
        AgentInput(image: env.frame, prompt: env.prompt(thoughts: true))
    }
}
