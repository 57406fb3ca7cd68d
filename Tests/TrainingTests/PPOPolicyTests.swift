@testable import Agents
import Environments
import Foundation
import Support
import Tensors
import Testing
@testable import Training

/// The pieces on a real (tiny, untrained) trainable policy: the λ split, PPO's loss on `score` tensors, and a
/// thought-cloning row.
@Suite struct PPOWithPolicyTests {
    static func model() throws -> (TrainablePolicy, [ExpertSample]) {
        var c = SFTConfig()
        c.env = "numberline"; c.steps = 8; c.merges = 60; c.dModel = 32; c.layers = 1
        let data = try ExpertData.collect(env: c.env, steps: c.steps, seed: 7)
        return (try SFT.makeModel(c, data: data), data)
    }

    @Test func lambdaWeightsSplitAtTheLastActionKey() {
        #expect(LambdaSplit.weights(count: 5, actionTokenStart: 3, lambda: 0.5) == [0.5, 0.5, 0.5, 1, 1])
        #expect(LambdaSplit.weights(count: 3, actionTokenStart: 3, lambda: 0.2) == [0.2, 0.2, 0.2])  // no "action":
        #expect(LambdaSplit.weights(count: 2, actionTokenStart: 0, lambda: 0.2) == [1, 1])
        #expect(LambdaSplit.defaultLambda(env: "points24") == 0.5 && LambdaSplit.defaultLambda(env: "alfworld") == 0.2)
        let out = PolicyOutput(text: "", tokenIDs: [5, 6, 7, 8], tokenLogProbs: [-1, -2, -0.5, -0.25], behaviourLogProbs: [],
                               tokenEntropies: [], spans: OutputSpans(actionTokenStart: 2, actionCharOffset: 9), value: 0, finished: true)
        // 0.5·(−1 − 2) + (−0.5 − 0.25)
        #expect(LambdaSplit.oldLogProb(out, lambda: 0.5) == -2.25)
        #expect(LambdaSplit.row(input: AgentInput(image: RGBImage(width: 1, height: 1), prompt: ""), output: out, lambda: 0.5).weights
                == [0.5, 0.5, 1, 1])
    }

    @Test func scoreReproducesTheLambdaLogProbAndAPPOStepLowersTheLoss() throws {
        let (m, data) = try Self.model()
        let samples = Array(data.prefix(4))
        let lambda: Float = 0.5, temperature: Float = 0.2
        var rows: [TrainingRow] = [], old: [Double] = []
        for s in samples {
            let tokens = m.encode(s.answer.text) + [m.endOfText]
            let ev = try m.evaluate(s.input, outputTokens: tokens, lambda: lambda, temperature: temperature)
            // the action part starts at the token holding the quote of "action": and runs to EOS
            #expect(ev.spans.hasAction && ev.spans.actionTokenStart < tokens.count)
            #expect(m.decode(Array(tokens[ev.spans.actionTokenStart...])).contains("\"action\":"))
            #expect(!m.decode(Array(tokens[..<ev.spans.actionTokenStart])).contains("\"action\":"))
            rows.append(TrainingRow(input: s.input, output: tokens,
                                    weights: LambdaSplit.weights(count: tokens.count, actionTokenStart: ev.spans.actionTokenStart, lambda: lambda)))
            old.append(Double(ev.logProb))
        }
        rows = try m.prepare(rows)
        let s = try m.score(rows, temperature: temperature)
        for (k, o) in old.enumerated() { #expect(abs(Double(s.weighted.scalars[k]) - o) < 2e-3 * max(1, abs(o)), "row \(k)") }

        let values = s.value.scalars.map(Double.init)
        let adv = [1.0, -1.0, 0.5, -0.5]
        func inputs(_ s: PolicyScores) -> PPOInputs<Float> {
            PPOInputs(newLogProbs: s.weighted, newValues: s.value, oldLogProbs: old, advantages: adv, oldValues: values,
                      returns: values.map { $0 + 1 })
        }
        let before = PPOLoss.compute(inputs(s))
        #expect(before.diagnostics.finite)
        #expect(before.diagnostics.approxKL < 1e-3 && before.diagnostics.clipFraction == 0)
        m.zeroGrad()
        before.total.backward()
        #expect(m.parameters.contains { ($0.grad?.scalars.contains { $0 != 0 }) ?? false })
        let norm = clipGradNorm(m.parameters, maxNorm: 1)
        #expect(norm > 0 && norm.isFinite)
        let opt = SGD(m.namedParameters(), learningRate: 1e-3)  // a step of length ≤ 1e-3: first-order descent
        opt.step()
        let after = Autograd.noGrad { PPOLoss.compute(inputs(try! m.score(rows, temperature: temperature))) }
        #expect(after.diagnostics.totalLoss < before.diagnostics.totalLoss)
        #expect(after.diagnostics.approxKL > 0 && after.diagnostics.approxKL < 0.05, "KL \(after.diagnostics.approxKL) after a step of \(norm)")
    }

    @Test func thoughtCloningRowScoresWithTheActionMasked() throws {
        let (m, data) = try Self.model()
        let s = data[0]
        let t = try ThoughtCloning.target(thought: s.answer.text, action: "+")
        let row = ThoughtCloning.row(t, input: s.input, policy: m)
        #expect(m.decode(row.output.filter { $0 != m.endOfText }) == t.text)
        let masked = zip(row.output, row.weights).filter { $0.1 == 0 }.map(\.0)
        #expect(m.decode(masked) == #""action": "+""#)
        let prepared = try m.prepare([row])
        let scores = try m.score(prepared, temperature: 1)
        let loss = ThoughtCloning.loss(weighted: scores.weighted, rows: prepared)
        #expect(abs(loss.item() - (-scores.weighted.item() / row.weights.reduce(0, +))) < 1e-6)
        #expect(loss.item().isFinite && loss.item() > 0)
        m.zeroGrad()
        loss.backward()
        #expect(m.parameters.contains { ($0.grad?.scalars.contains { $0 != 0 }) ?? false })
    }
}
