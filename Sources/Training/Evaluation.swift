import Agents
import Environments
import Episodes
import Foundation

/// What `eval` reports: outcome, format and the thought-collapse diagnostics training tracks.
public struct EvalReport: Sendable {
    public var episodes = 0
    public var successes = 0
    public var meanReturn = 0.0
    public var steps = 0
    public var validJSON = 0
    public var legalActions = 0
    public var recognised = 0
    public var recognisable = 0
    /// Steps whose thought is state-relevant (`StateRelevance`), of the steps where relevance is defined.
    public var relevant = 0
    public var namesState = 0
    public var consistent = 0
    public var relevanceJudged = 0
    public var thoughtTokens = 0
    public var distinct1 = 0.0
    public var distinct2 = 0.0
    public var selfBLEU = 0.0
    /// Distinct-2 and self-BLEU of the first thought of each episode only: one thought per held-out state, the same
    /// states for every policy, so a few long looping episodes cannot dominate (the pooled figures count every step).
    public var distinct2First = 0.0
    public var selfBLEUFirst = 0.0
    /// Episodes and successes by task type, for envs whose info names one (`task_type`: the household tasks).
    public var byTaskType: [String: (episodes: Int, successes: Int)] = [:]

    public var successRate: Double { episodes == 0 ? 0 : Double(successes) / Double(episodes) }
    public var validRate: Double { steps == 0 ? 0 : Double(validJSON) / Double(steps) }
    public var legalRate: Double { steps == 0 ? 0 : Double(legalActions) / Double(steps) }
    public var recognitionRate: Double? { recognisable == 0 ? nil : Double(recognised) / Double(recognisable) }
    public var meanThoughtTokens: Double { steps == 0 ? 0 : Double(thoughtTokens) / Double(steps) }
    public var relevanceRate: Double? { relevanceJudged == 0 ? nil : Double(relevant) / Double(relevanceJudged) }

    public var lines: [String] {
        var l = [String(format: "success %.1f%% (%d/%d), mean return %.3f, %d steps", successRate * 100, successes, episodes, meanReturn, steps)]
        l.append(String(format: "valid JSON %.1f%%, legal action %.1f%%", validRate * 100, legalRate * 100)
                 + (recognitionRate.map { String(format: ", card recognition %.1f%%", $0 * 100) } ?? "")
                 + (relevanceRate.map { String(format: ", state relevance %.1f%% (state named %.1f%%, consistent %.1f%%)", $0 * 100,
                                                     Double(namesState) * 100 / Double(relevanceJudged), Double(consistent) * 100 / Double(relevanceJudged)) } ?? ""))
        l.append(String(format: "thought length %.1f tokens, distinct-1 %.3f, distinct-2 %.3f, self-BLEU %.3f (first thoughts only: distinct-2 %.3f, self-BLEU %.3f)",
                        meanThoughtTokens, distinct1, distinct2, selfBLEU, distinct2First, selfBLEUFirst))
        if !byTaskType.isEmpty {
            l.append("by task type: " + byTaskType.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value.successes)/\($0.value.episodes)" }.joined(separator: ", "))
        }
        return l
    }
}

/// One step of an evaluation, for callers that log generations.
public struct EvalStep {
    public var episode: Int
    public var t: Int
    public var input: AgentInput
    public var output: PolicyOutput
}

public enum AgentEvaluation {
    /// Plays `episodes` episodes (seeds `seed`, `seed`+1, …) with up to `batch` environments generating together.
    /// Invalid outputs follow the env's `invalid=` policy (penalty by default).
    public static func run(_ policy: Policy, env name: String, options: [String: String], episodes: Int, seed: UInt64,
                           config: GenerationConfig, batch: Int = 8, onStep: (EvalStep) -> Void = { _ in },
                           progress: (Int) -> Void = { _ in }, shouldStop: () -> Bool = { false }) throws -> EvalReport {
        var report = EvalReport()
        var thoughts: [String] = []
        var firstThoughts: [String] = []
        var returns: [Double] = []
        var next = 0
        var active: [EpisodeSession] = []
        var genIndex: UInt64 = 0
        func refill() throws {
            while active.count < batch && next < episodes {
                let e = try EnvironmentRegistry.make(name)
                (e as? EnvironmentBase)?.renderFrames = false
                active.append(try EpisodeSession(env: e, number: next, seed: seed + UInt64(next), options: options)); next += 1
            }
        }
        try refill()
        while !active.isEmpty {
            if shouldStop() { break }
            let inputs = active.map { AgentInput.from($0.env) }
            var g = config
            g.seed = config.seed &+ genIndex &* 7919
            genIndex += 1
            let outs = try policy.generate(inputs, config: g)
            var finished: [Int] = []
            for (k, o) in outs.enumerated() {
                let e = active[k].env
                onStep(EvalStep(episode: active[k].number, t: e.stepCount, input: inputs[k], output: o))
                let parse = e.strictParse(o.text)
                report.steps += 1
                if parse.valid && o.finished { report.validJSON += 1 }
                if let r = StateFacts.of(e).recognised(by: parse.json) { report.recognisable += 1; if r { report.recognised += 1 } }
                report.thoughtTokens += o.spans.actionTokenStart
                let thought = parse.json?["thoughts"]?.stringValue ?? String(o.text.prefix(o.spans.actionCharOffset ?? o.text.count))
                thoughts.append(thought)
                if e.stepCount == 0 { firstThoughts.append(thought) }
                if let r = e.stateRelevance(of: thought) {
                    report.relevanceJudged += 1
                    if r.relevant { report.relevant += 1 }
                    if r.namesState { report.namesState += 1 }
                    if r.consistent { report.consistent += 1 }
                }
                let step = try active[k].apply(.modelOutput(o.text), source: .agent)
                if step.parsed?.legal == true { report.legalActions += 1 }
                if step.done { finished.append(k) }
            }
            for k in finished.reversed() {
                returns.append(active[k].episodeReturn)
                if active[k].succeeded { report.successes += 1 }
                if let kind = active[k].env.info["task_type"]?.stringValue, !kind.isEmpty {
                    var e = report.byTaskType[kind] ?? (0, 0)
                    e.episodes += 1
                    if active[k].succeeded { e.successes += 1 }
                    report.byTaskType[kind] = e
                }
                active.remove(at: k)
                progress(returns.count)
            }
            try refill()
        }
        report.episodes = returns.count
        report.meanReturn = returns.isEmpty ? 0 : returns.reduce(0, +) / Double(returns.count)
        report.distinct1 = ThoughtDiversity.distinct(thoughts, n: 1)
        report.distinct2 = ThoughtDiversity.distinct(thoughts, n: 2)
        report.selfBLEU = ThoughtDiversity.selfBLEU(thoughts)
        report.distinct2First = ThoughtDiversity.distinct(firstThoughts, n: 2)
        report.selfBLEUFirst = ThoughtDiversity.selfBLEU(firstThoughts)
        return report
    }
}
