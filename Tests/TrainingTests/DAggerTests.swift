import Agents
import Environments
import Foundation
import Support
import Testing
@testable import Training

private func sample(_ i: Int, _ source: LabelSource = .oracle) -> DAggerSample {
    DAggerSample(row: TrainingRow(input: AgentInput(image: RGBImage(width: 1, height: 1), prompt: "\(i)"), output: [Int32(i)]),
                 text: "\(i)", source: source, update: i / 4, step: i)
}

@Suite struct DAggerBufferTests {
    @Test func uniformDrawsHitEveryItemEquallyOften() {
        var d = DAggerBuffer(sampling: .uniform)
        for i in 0..<10 { d.record(sample(i)) }
        var rng = SeededRNG(seed: 7)
        var counts = [Int](repeating: 0, count: 10)
        let draws = 100_000
        for _ in 0..<draws { for s in d.draw(rng: &rng) { counts[Int(s.row.output[0])] += 1 } }
        #expect(counts.reduce(0, +) == draws)
        // σ of a frequency is √(0.1·0.9/1e5) ≈ 0.00095: ±0.004 is over 4σ
        for c in counts { #expect(abs(Double(c) / Double(draws) - 0.1) < 0.004, "\(counts)") }
    }

    @Test func permutationDrawsEachItemOncePerPass() {
        var d = DAggerBuffer()  // GTR's DualSampler
        for i in 0..<7 { d.record(sample(i)) }
        var rng = SeededRNG(seed: 1)
        var passes: [[Int]] = []
        for _ in 0..<5 { passes.append((0..<7).flatMap { _ in d.drawIndices(rng: &rng) }) }
        for p in passes { #expect(p.sorted() == Array(0..<7)) }
        #expect(Set(passes.map { $0 }).count > 1, "each pass is a fresh permutation")
        // the buffer grows between updates: the next pass covers the new entries too
        for i in 7..<10 { d.record(sample(i)) }
        let next = (0..<10).flatMap { _ in d.drawIndices(rng: &rng) }
        #expect(next.sorted() == Array(0..<10))
    }

    @Test func unlabelledStepsSetTheSFTRate() {
        // GTR: D holds every step; a draw of an uncorrected step yields no SFT, so the rate is the labelled fraction
        var d = DAggerBuffer(sampling: .uniform)
        for i in 0..<20 { d.record(i % 4 == 0 ? sample(i, i % 8 == 0 ? .chat : .human) : nil) }
        #expect(d.count == 20 && d.labelledCount == 5)
        #expect(d.labelledFraction == 0.25)
        #expect(d.sources == [.chat: 3, .human: 2])
        var rng = SeededRNG(seed: 3)
        let draws = 40_000
        var labelled = 0
        for _ in 0..<draws { labelled += d.draw(rng: &rng).count }
        #expect(abs(Double(labelled) / Double(draws) - 0.25) < 0.01)
        // permutation: exactly the labelled fraction per pass
        var p = DAggerBuffer()
        for i in 0..<20 { p.record(i % 4 == 0 ? sample(i) : nil) }
        var hits = 0
        for _ in 0..<40 { hits += p.draw(rng: &rng).count }
        #expect(hits == 10)
        // labelled-only mode: every draw yields a sample, uniformly over the labelled ones
        var only = DAggerBuffer(sampling: .uniform, countUnlabelled: false)
        for i in 0..<20 { only.record(i % 4 == 0 ? sample(i) : nil) }
        var counts: [Int32: Int] = [:]
        for _ in 0..<draws { for s in only.draw(rng: &rng) { counts[s.row.output[0], default: 0] += 1 } }
        #expect(counts.values.reduce(0, +) == draws)
        #expect(Set(counts.keys) == [0, 4, 8, 12, 16])
        for c in counts.values { #expect(abs(Double(c) / Double(draws) - 0.2) < 0.01) }
    }

    @Test func kPerMinibatchSeededAndEmpty() {
        var a = DAggerBuffer(sampling: .uniform, perMinibatch: 3), b = a
        var empty = a
        for i in 0..<5 { a.record(sample(i)); b.record(sample(i)) }
        var r1 = SeededRNG(seed: 11), r2 = SeededRNG(seed: 11)
        let x = (0..<50).map { _ in a.drawIndices(rng: &r1) }, y = (0..<50).map { _ in b.drawIndices(rng: &r2) }
        #expect(x == y)
        #expect(x.allSatisfy { $0.count == 3 })
        #expect(empty.draw(rng: &r1).isEmpty)
    }

    @Test func mixingWeightIsOneOrACosine() {
        let plain = DAggerBuffer.Mixing()
        #expect(plain.weight(update: 0, totalUpdates: 14) == 1 && plain.weight(update: 13, totalUpdates: 14) == 1)
        let cosine = DAggerBuffer.Mixing(weight: 1, cosineAnnealing: true, floor: 0.1)
        #expect(cosine.weight(update: 0, totalUpdates: 10) == 1)
        #expect(abs(cosine.weight(update: 5, totalUpdates: 10) - 0.55) < 1e-12)
        #expect(abs(cosine.weight(update: 10, totalUpdates: 10) - 0.1) < 1e-12)
        #expect(abs(cosine.weight(update: 12, totalUpdates: 10) - 0.1) < 1e-12)
        #expect(abs(cosine.weight(update: 2, totalUpdates: 10) - (0.1 + 0.9 * (1 + cos(Double.pi * 0.2)) / 2)) < 1e-12)
    }
}

@Suite struct FormatBonusTests {
    @Test func validJSONWithTheEnvKeysEarnsFive() throws {
        let p24 = try EnvironmentRegistry.make("points24")
        _ = try p24.reset(seed: 1)
        let bonus = FormatBonus()
        let good = #"{"cards": [1, 2, 3, 4], "formula": "", "thoughts": "t", "action": "1"}"#
        #expect(bonus.bonus(good, finished: true, env: p24) == 5)
        #expect(bonus.bonus("  \n" + good + "\n", finished: true, env: p24) == 5)
        #expect(bonus.bonus(good, finished: false, env: p24) == 0)  // cut at the token budget
        #expect(FormatBonus(requireFinished: false).bonus(good, finished: false, env: p24) == 5)
        #expect(bonus.bonus(#"{"cards": [1, 2, 3, 4], "thoughts": "t", "action": "1"}"#, finished: true, env: p24) == 0)
        #expect(bonus.bonus(#"{"cards": [1, 2, 3, 4], "formula": "", "thoughts": "t", "action": "1""#, finished: true, env: p24) == 0)
        let bj = try EnvironmentRegistry.make("blackjack")
        _ = try bj.reset(seed: 1)
        #expect(bonus.bonus(#"{"thoughts": "t", "action": "hit"}"#, finished: true, env: bj) == 5)
        #expect(FormatBonus(amount: 2).bonus(#"{"thoughts": "t", "action": "hit"}"#, finished: true, env: bj) == 2)
    }

    @Test func gtrTruncationRules() {
        typealias T = GTRTruncation
        #expect(T.apply(reward: 0, done: false, unsolvable: false, followsTarget: true) == .init(done: false, reward: 0, reason: nil))
        #expect(T.apply(reward: 10, done: true, unsolvable: false, followsTarget: nil) == .init(done: true, reward: 10, reason: nil))
        #expect(T.apply(reward: 0, done: false, unsolvable: true, followsTarget: true) == .init(done: true, reward: -1, reason: .unsolvable))
        #expect(T.apply(reward: -1, done: false, unsolvable: false, followsTarget: nil) == .init(done: true, reward: -1, reason: .penalty))
        #expect(T.apply(reward: 0, done: false, unsolvable: false, followsTarget: false) == .init(done: true, reward: -1, reason: .offTarget))
        // a winning last step that leaves the target still ends (it is done) but keeps its reward only if on target
        #expect(T.apply(reward: 10, done: true, unsolvable: false, followsTarget: false).reward == -1)
    }
}
