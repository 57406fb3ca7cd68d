import Environments
import Foundation

/// GTR's format reward (digest §5.1): `amount` (5) when the output is valid, else 0. Valid = generation ended with
/// EOS (not cut at the token budget) and the stripped text is a strict JSON object with all of the env's required
/// keys (`Environment.strictParse`: cards, formula, thoughts, action for the formula games; thoughts, action else).
///
/// How it fits a trainer: per rollout step, `bonus(output.text, finished: output.finished, env:)` is the f_t that
/// `GAE.compute(bonus:)` adds to advantages and returns (GTR's parity), or that the trainer adds to the reward
/// instead (digest §11 bug 11). Invalid outputs also get no corrector call and no SFT label in GTR.
public struct FormatBonus: Sendable, Equatable, Codable {
    public var amount = 5.0
    /// GTR also requires the generation to have ended with EOS; false drops that condition.
    public var requireFinished = true
    public init(amount: Double = 5, requireFinished: Bool = true) { self.amount = amount; self.requireFinished = requireFinished }

    public func isValid(_ text: String, finished: Bool, env: Environment) -> Bool {
        (finished || !requireFinished) && env.strictParse(text).valid
    }

    public func bonus(_ text: String, finished: Bool, env: Environment) -> Double {
        isValid(text, finished: finished, env: env) ? amount : 0
    }
}

/// GTR's early truncation of gym-cards episodes during training (digest §5.4). ALFWorld's rule (more than 40
/// actions or the same action 5 times: done, reward −3) is the household env's own `gtr_truncation=true` option and
/// is not repeated here.
///
/// How it fits a trainer: after each card-game step, pass the step's reward and done flag, whether the corrector
/// judged the deal unsolvable (`TargetFormula.unsolvable`) and, for Points24 only, whether the formula written so far
/// still follows the target (`TargetFormula.allows(currentFormula:)`; nil for other games). Store the decision's
/// reward and done in the rollout (GAE's dones must be the overridden ones: §11 bug 10) and start a new episode when
/// it forces one; reset the target formula to NOT DETERMINED at every episode start (§11 bug 5).
public enum GTRTruncation {
    public enum Reason: String, Sendable, Equatable {
        /// Rule 1: the corrector found the deal unsolvable (GTR's `cont = False`).
        case unsolvable
        /// Rule 2: the env's reward was −1 (invalid move, wrong '=', formula too long; NumberLine: no progress;
        /// Blackjack: a loss).
        case penalty
        /// Rule 3 (Points24): the formula left the target formula (or no target is known).
        case offTarget
    }

    public struct Decision: Sendable, Equatable {
        public var done: Bool
        public var reward: Double
        /// Why the episode was cut; nil when the rules did not fire (done may still be true: the env ended it).
        public var reason: Reason?
    }

    /// The GTR penalty reward of a truncated step.
    public static let penalty = -1.0

    public static func apply(reward: Double, done: Bool, unsolvable: Bool, followsTarget: Bool?) -> Decision {
        let reason: Reason?
        if unsolvable { reason = .unsolvable } else if reward == penalty { reason = .penalty } else if followsTarget == false {
            reason = .offTarget
        } else { reason = nil }
        guard let r = reason else { return Decision(done: done, reward: reward, reason: nil) }
        return Decision(done: true, reward: penalty, reason: r)
    }
}
