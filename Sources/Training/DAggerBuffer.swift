import Agents
import Foundation
import Support

/// Who wrote an SFT label.
public enum LabelSource: String, Sendable, Equatable, Codable, CaseIterable {
    /// The built-in oracle corrector (game knowledge, solver).
    case oracle
    /// A person at the shell (`correct apply`, `thought edit`).
    case human
    /// A chat model corrector (GTR: GPT-4o).
    case chat
    /// The expert's own answer.
    case expert
}

/// One labelled step: the row to clone (input, target tokens, weights with the action masked) and its provenance.
public struct DAggerSample: Sendable {
    /// `ThoughtCloning.row`'s output (prepared or not).
    public var row: TrainingRow
    /// The target text the row's tokens spell (`CloningTarget.text`).
    public var text: String
    public var source: LabelSource
    /// The PPO update during whose rollout the label was made (0-based).
    public var update: Int
    /// The global env step (GTR's `step_accu`), for provenance and logs.
    public var step: Int
    public init(row: TrainingRow, text: String, source: LabelSource, update: Int, step: Int) {
        self.row = row; self.text = text; self.source = source; self.update = update; self.step = step
    }
}

/// GTR's aggregated dataset D (digest §5.6): every step since training began, never evicted, each with the
/// corrected thought's label when the corrector gave one; one entry of D is drawn for every PPO minibatch and its
/// SFT loss added to the PPO loss.
///
/// How it fits a trainer: for each rollout step, call `record(sample)` with the labelled sample, or `record(nil)`
/// when the step got no label (invalid output, the corrector agreed, no corrector). For each PPO minibatch call
/// `draw(rng:)` (the trainer's seeded `SeededRNG`); the labelled samples it returns get the SFT loss, scaled by
/// `mixing.weight(update:totalUpdates:)`. As in GTR, unlabelled steps take part in the draw (`countUnlabelled`), so
/// the SFT rate per minibatch equals the historical fraction of corrected steps (`labelledFraction`).
public struct DAggerBuffer: Sendable {
    public enum Sampling: String, Sendable, Equatable, Codable {
        /// GTR's `DualSampler`: walk a random permutation of all entries, draw a fresh permutation when it is used up
        /// (and when the buffer has grown since it was drawn). Every entry is drawn once per pass.
        case permutation
        /// Independent uniform draws with replacement.
        case uniform
    }

    /// How strongly SFT enters the loss: `weight` (GTR: 1), optionally annealed with a cosine down to `floor`
    /// over the updates (the paper's annealing ablation, which brought thought collapse back; off by default).
    public struct Mixing: Sendable, Equatable, Codable {
        public var weight = 1.0
        public var cosineAnnealing = false
        public var floor = 0.0
        public init(weight: Double = 1, cosineAnnealing: Bool = false, floor: Double = 0) {
            self.weight = weight; self.cosineAnnealing = cosineAnnealing; self.floor = floor
        }
        /// floor + (weight − floor)·(1 + cos(π·update / totalUpdates)) / 2 when annealing, else `weight`.
        public func weight(update: Int, totalUpdates: Int) -> Double {
            guard cosineAnnealing, totalUpdates > 0 else { return weight }
            let progress = min(1, max(0, Double(update) / Double(totalUpdates)))
            return floor + (weight - floor) * (1 + cos(Double.pi * progress)) / 2
        }
    }

    /// nil entries are steps without a label.
    public private(set) var entries: [DAggerSample?] = []
    public var sampling: Sampling
    /// Draws per minibatch (GTR: 1).
    public var perMinibatch: Int
    /// True (GTR): unlabelled steps are drawn too and yield no SFT; false: draws come from labelled steps only.
    public var countUnlabelled: Bool
    public var mixing: Mixing
    private var order: [Int] = []
    private var cursor = 0

    public init(sampling: Sampling = .permutation, perMinibatch: Int = 1, countUnlabelled: Bool = true, mixing: Mixing = Mixing()) {
        self.sampling = sampling; self.perMinibatch = perMinibatch; self.countUnlabelled = countUnlabelled; self.mixing = mixing
    }

    /// Where the permutation sampler stands (its current order and position), for checkpoints: a buffer restored
    /// with the same entries and this state draws exactly what the original would have drawn.
    public var samplerState: (order: [Int], cursor: Int) {
        get { (order, cursor) }
        set { order = newValue.order; cursor = newValue.cursor }
    }

    public var count: Int { entries.count }
    public var labelledCount: Int { labelled.count }
    /// Labelled steps / all steps (GTR's `corrected_prob` over the whole history).
    public var labelledFraction: Double { entries.isEmpty ? 0 : Double(labelledCount) / Double(entries.count) }
    private var labelled: [Int] = []

    public mutating func record(_ sample: DAggerSample?) {
        if sample != nil { labelled.append(entries.count) }
        entries.append(sample)
    }

    /// Labelled counts per source.
    public var sources: [LabelSource: Int] {
        var out: [LabelSource: Int] = [:]
        for i in labelled { out[entries[i]!.source, default: 0] += 1 }
        return out
    }

    /// Indices into `entries` for one minibatch (`perMinibatch` of them; fewer only when nothing can be drawn).
    public mutating func drawIndices(rng: inout SeededRNG) -> [Int] {
        let pool = countUnlabelled ? entries.count : labelled.count
        guard pool > 0, perMinibatch > 0 else { return [] }
        var out: [Int] = []
        for _ in 0..<perMinibatch {
            let k: Int
            switch sampling {
            case .uniform:
                k = rng.int(in: 0...(pool - 1))
            case .permutation:
                if cursor >= order.count || order.count != pool {
                    order = Array(0..<pool)
                    for i in stride(from: pool - 1, to: 0, by: -1) { order.swapAt(i, rng.int(in: 0...i)) }
                    cursor = 0
                }
                k = order[cursor]; cursor += 1
            }
            out.append(countUnlabelled ? k : labelled[k])
        }
        return out
    }

    /// The labelled samples of one minibatch's draw (possibly none when unlabelled steps were drawn).
    public mutating func draw(rng: inout SeededRNG) -> [DAggerSample] {
        drawIndices(rng: &rng).compactMap { entries[$0] }
    }
}
