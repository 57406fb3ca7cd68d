import Foundation
import Tensors
import Testing
@testable import Training

// Golden numbers printed by `python3 scripts/ppo_golden.py` (numpy, float64); the inputs below repeat its inputs.

private func close(_ a: [Double], _ b: [Double], tol: Double = 1e-12, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(a.count == b.count, "\(what): \(a.count) vs \(b.count) values", sourceLocation: sourceLocation)
    for (i, (x, y)) in zip(a, b).enumerated() where !(abs(x - y) <= tol * max(1, abs(y))) {
        Issue.record("\(what)[\(i)]: \(x) vs golden \(y)", sourceLocation: sourceLocation)
    }
}

@Suite struct GAETests {
    let rewards: [[Double]] = [[0.0, 0.0, 10.0, -1.0, 0.5], [1.0, -1.0, 0.0, 0.0, 5.0]]
    let values: [[Double]] = [[0.5, 1.0, 2.0, 0.0, 0.3], [0.2, -0.4, 0.1, 0.7, 1.5]]
    let dones: [[Bool]] = [[false, false, true, false, false], [false, false, false, false, true]]
    let last: [Double] = [0.8, 9.0]

    @Test func advantagesAndReturnsMatchTheReference() throws {
        let r = try GAE.compute(rewards: rewards, values: values, dones: dones, lastValues: last)
        close(r.flatAdvantages, [6.9322, 7.640000000000001, 8.0, 0.056600000000000095, 0.9200000000000002, 2.6680518209375,
                                 2.6059085625, 3.6443375, 3.6425, 3.5], "advantages")
        close(r.flatReturns, [7.4322, 8.64, 10.0, 0.056600000000000095, 1.2200000000000002, 2.8680518209375, 2.2059085625,
                              3.7443375, 4.3425, 5.0], "returns")
        close(GAE.normalize(r.flatAdvantages), [1.0882428437868643, 1.3474808151264417, 1.4793339794133133, -1.4300060905765113,
                                                -1.1137782515618306, -0.4735389073172822, -0.4962994219397301, -0.11596569611631576,
                                                -0.11663869664236323, -0.16883057417258332], "normalised")
    }

    @Test func handComputedSteps() throws {
        let r = try GAE.compute(rewards: rewards, values: values, dones: dones, lastValues: last)
        // env 0, t = 4 bootstraps from V_T = 0.8: 0.5 + 0.9·0.8 − 0.3
        #expect(abs(r.advantages[0][4] - 0.92) < 1e-12)
        // t = 3: δ = −1 + 0.9·0.3 − 0 = −0.73, plus 0.9·0.95·0.92
        #expect(abs(r.advantages[0][3] - (-0.73 + 0.855 * 0.92)) < 1e-12)
        // t = 2 ended the episode: no bootstrap, no trace from t = 3
        #expect(r.advantages[0][2] == 8)
        // env 1's last step is done: its huge bootstrap value 9 is ignored
        #expect(abs(r.advantages[1][4] - 3.5) < 1e-12)
        // returns are advantages plus values
        for e in 0..<2 { for t in 0..<5 { #expect(abs(r.returns[e][t] - r.advantages[e][t] - values[e][t]) < 1e-12) } }
    }

    @Test func formatBonusIsAddedAfterTheRecursion() throws {
        let bonus: [[Double]] = [[5, 0, 5, 5, 0], [0, 5, 5, 0, 5]]
        let r = try GAE.compute(rewards: rewards, values: values, dones: dones, lastValues: last, bonus: bonus)
        close(r.flatAdvantages, [11.9322, 7.640000000000001, 13.0, 5.0566, 0.9200000000000002, 2.6680518209375, 7.6059085625,
                                 8.644337499999999, 3.6425, 8.5], "bonus advantages")
        close(r.flatReturns, [12.4322, 8.64, 15.0, 5.0566, 1.2200000000000002, 2.8680518209375, 7.2059085624999994, 8.7443375,
                              4.3425, 10.0], "bonus returns")
    }

    @Test func normalisationEdgeCasesAndShapes() throws {
        #expect(GAE.normalize([Double]()) == [])
        #expect(GAE.normalize([3.0]) == [0])
        // constant advantages: std 0, ε keeps it finite
        #expect(GAE.normalize([2.0, 2.0, 2.0]) == [0, 0, 0])
        let table = GAE.normalize([[1.0, 2.0], [3.0, 4.0, 5.0]])
        #expect(table.map(\.count) == [2, 3])
        #expect(abs(table.flatMap { $0 }.reduce(0, +)) < 1e-12)
        #expect(throws: GAE.InputError.self) {
            try GAE.compute(rewards: [[1, 2]], values: [[1]], dones: [[false, false]], lastValues: [0])
        }
        #expect(throws: GAE.InputError.self) {
            try GAE.compute(rewards: [[1]], values: [[1]], dones: [[false]], lastValues: [])
        }
    }
}

@Suite struct PPOLossTests {
    let newLP = [-1.00, -2.05, -0.50, -3.00, -1.20, -0.70]
    let oldLP = [-1.02, -1.90, -0.80, -2.90, -1.10, -0.72]
    let adv = [0.7, -1.3, 1.1, -0.4, 0.9, -0.6]
    let newV = [0.40, 1.30, -0.20, 2.00, 0.05, 0.90]
    let oldV = [0.35, 1.00, 0.00, 2.30, 0.10, 0.95]
    let rets = [1.00, 0.50, 0.30, 2.50, -0.40, 1.20]

    func inputs(_ lp: [Double], _ v: [Double], old: [Double], adv: [Double], oldV: [Double], rets: [Double]) -> PPOInputs<Double> {
        let a = Tensor<Double>(shape: [lp.count], scalars: lp, requiresGrad: true)
        let b = Tensor<Double>(shape: [v.count], scalars: v, requiresGrad: true)
        return PPOInputs(newLogProbs: a, newValues: b, oldLogProbs: old, advantages: adv, oldValues: oldV, returns: rets)
    }

    func values(_ d: PPODiagnostics) -> [Double] { [d.policyLoss, d.valueLoss, d.totalLoss, d.approxKL, d.clipFraction] }

    @Test func lossesMatchTheReference() {
        let out = PPOLoss.compute(inputs(newLP, newV, old: oldLP, adv: adv, oldV: oldV, rets: rets))
        close(values(out.diagnostics), [-0.09907314050344261, 0.149375, -0.024385640503442607, 0.01177405002108195, 0.3333333333333333],
              tol: 1e-12, "ppo")
        #expect(out.diagnostics.guarded == 0)
        #expect(out.diagnostics.finite)
        #expect(abs(out.diagnostics.ratioMax - 1.3498588075760032) < 1e-12)
    }

    @Test func gradientsAreTheHandDerivedOnes() {
        let x = inputs(newLP, newV, old: oldLP, adv: adv, oldV: oldV, rets: rets)
        PPOLoss.compute(x).total.backward()
        let b = 6.0
        // policy: −r·A/B where min() picked the unclipped surrogate, 0 where the clipped one (samples 1 and 2)
        let ratio = zip(newLP, oldLP).map { Foundation.exp($0 - $1) }
        let expectedLP = (0..<6).map { i in [1, 2].contains(i) ? 0 : -ratio[i] * adv[i] / b }
        close(x.newLogProbs.grad!.scalars, expectedLP, tol: 1e-12, "d total / d log π")
        // value (coef 0.5 × ½·mean of squares): 0.5·(V − R)/B where the unclipped error is the larger (or V is inside
        // the clip range, where both are equal); 0 where the clipped error wins with V outside the range
        var expectedV = [Double](repeating: 0, count: 6)
        for i in 0..<6 {
            let vc = oldV[i] + min(max(newV[i] - oldV[i], -0.1), 0.1)
            let unclippedWins = (newV[i] - rets[i]) * (newV[i] - rets[i]) >= (vc - rets[i]) * (vc - rets[i])
            let inside = abs(newV[i] - oldV[i]) <= 0.1
            expectedV[i] = unclippedWins ? 0.5 * (newV[i] - rets[i]) / b : (inside ? 0.5 * (vc - rets[i]) / b : 0)
        }
        close(x.newValues.grad!.scalars, expectedV, tol: 1e-12, "d total / d V")
    }

    @Test func gradientsMatchFiniteDifferences() {
        for config in [PPOConfig(), PPOConfig(ratioGuard: 10), PPOConfig(ratioGuard: 10, guardScope: .minibatch),
                       PPOConfig(valueClip: nil, klCoef: 0.3)] {
            for (lp, old, a) in [(newLP, oldLP, adv), ([-1.00, 1.00, -0.50], [-1.05, -2.00, -0.20], [0.5, -0.8, 0.3])] {
                let n = lp.count
                let v = Array(newV.prefix(n)), ov = Array(oldV.prefix(n)), r = Array(rets.prefix(n))
                var x = inputs(lp, v, old: old, adv: a, oldV: ov, rets: r)
                x.referenceLogProbs = old.map { $0 - 0.05 }
                PPOLoss.compute(x, config: config).total.backward()
                let analytic = x.newLogProbs.grad!.scalars + x.newValues.grad!.scalars
                func loss(_ lp: [Double], _ v: [Double]) -> Double {
                    var y = inputs(lp, v, old: old, adv: a, oldV: ov, rets: r)
                    y.referenceLogProbs = x.referenceLogProbs
                    return Autograd.noGrad { PPOLoss.compute(y, config: config).diagnostics.totalLoss }
                }
                let eps = 1e-6
                var numeric: [Double] = []
                for i in 0..<n {
                    var p = lp, m = lp; p[i] += eps; m[i] -= eps
                    numeric.append((loss(p, v) - loss(m, v)) / (2 * eps))
                }
                for i in 0..<n {
                    var p = v, m = v; p[i] += eps; m[i] -= eps
                    numeric.append((loss(lp, p) - loss(lp, m)) / (2 * eps))
                }
                close(analytic, numeric, tol: 1e-6, "grad \(config.guardScope) guard \(String(describing: config.ratioGuard)) n \(n)")
            }
        }
    }

    // sample 1: ratio e³ ≈ 20 > 10 with A < 0; sample 2: A > 0 and ratio e^−0.3 < 0.9
    let gNew = [-1.00, 1.00, -0.50], gOld = [-1.05, -2.00, -0.20], gAdv = [0.5, -0.8, 0.3]
    let gV = [0.1, 0.2, 0.3], gOV = [0.1, 0.25, 0.2], gR = [0.0, 0.5, 1.0]

    @Test func ratioGuardMatchesTheReference() {
        let off = PPOLoss.compute(inputs(gNew, gV, old: gOld, adv: gAdv, oldV: gOV, rets: gR))
        close(values(off.diagnostics), [5.106849508052536, 0.09833333333333333, 5.156016174719202, 5.3758754134151365, 0.6666666666666666],
              tol: 1e-12, "guard off")
        let sample = inputs(gNew, gV, old: gOld, adv: gAdv, oldV: gOV, rets: gR)
        let s = PPOLoss.compute(sample, config: PPOConfig(ratioGuard: 10))
        close(values(s.diagnostics), [0.044039661869157566, 0.09833333333333333, 0.09320632853582422, 5.3758754134151365, 0.6666666666666666],
              tol: 1e-12, "guard per sample")
        #expect(s.diagnostics.guarded == 1)
        s.total.backward()
        // the guarded sample leaves the policy gradient; sample 2 keeps its unclipped −r·A/B
        let g = sample.newLogProbs.grad!.scalars
        #expect(g[1] == 0)
        #expect(abs(g[2] - (-Foundation.exp(-0.3) * 0.3 / 3)) < 1e-12)

        let batch = inputs(gNew, gV, old: gOld, adv: gAdv, oldV: gOV, rets: gR)
        let m = PPOLoss.compute(batch, config: PPOConfig(ratioGuard: 10, guardScope: .minibatch))
        close(values(m.diagnostics), [0.028121483937329345, 0.09833333333333333, 0.077288150603996, 5.3758754134151365, 0.6666666666666666],
              tol: 1e-12, "guard per minibatch (GTR's literal rule)")
        #expect(m.diagnostics.guarded == 3)
        m.total.backward()
        // the literal rule also silences sample 2 (clipped at 0.9: no gradient)
        #expect(batch.newLogProbs.grad!.scalars[2] == 0)
    }

    @Test func noMovementMeansNoKLAndNoClipping() {
        let x = inputs(oldLP, oldV, old: oldLP, adv: adv, oldV: oldV, rets: rets)
        let out = PPOLoss.compute(x)
        #expect(out.diagnostics.approxKL == 0)
        #expect(out.diagnostics.clipFraction == 0)
        #expect(abs(out.diagnostics.policyLoss + adv.reduce(0, +) / 6) < 1e-12)
        #expect(out.kl == nil && out.entropy == nil)
    }

    @Test func entropyBonusAndKLPenaltyEnterTheTotal() {
        var x = inputs(newLP, newV, old: oldLP, adv: adv, oldV: oldV, rets: rets)
        x.entropy = Tensor<Double>(shape: [6], scalars: [1, 2, 3, 4, 5, 6], requiresGrad: true)
        x.referenceLogProbs = oldLP
        let out = PPOLoss.compute(x, config: PPOConfig(entropyCoef: 0.01, klCoef: 0.1))
        let base = PPOLoss.compute(inputs(newLP, newV, old: oldLP, adv: adv, oldV: oldV, rets: rets)).diagnostics.totalLoss
        // with the reference = the old policy, the k3 KL(π_θ ‖ π_ref) is mean(exp(old − new) − 1 − (old − new))
        let kl: Double = zip(newLP, oldLP).map { (n: Double, o: Double) -> Double in let d = o - n; return Foundation.exp(d) - 1 - d }.reduce(0, +) / 6
        #expect(abs(out.kl!.item() - kl) < 1e-12)
        #expect(abs(out.diagnostics.totalLoss - (base - 0.01 * 3.5 + 0.1 * kl)) < 1e-12)
        out.total.backward()
        #expect(x.entropy!.grad!.scalars.allSatisfy { abs($0 + 0.01 / 6) < 1e-15 })
    }

    @Test func floatTensorsAsThePolicyReturnsThem() {
        let a = Tensor<Float>(shape: [6], scalars: newLP.map(Float.init), requiresGrad: true)
        let b = Tensor<Float>(shape: [6], scalars: newV.map(Float.init), requiresGrad: true)
        let out = PPOLoss.compute(PPOInputs(newLogProbs: a, newValues: b, oldLogProbs: oldLP, advantages: adv, oldValues: oldV, returns: rets))
        #expect(abs(out.diagnostics.totalLoss - -0.024385640503442607) < 1e-5)
        out.total.backward()
        #expect(a.grad != nil && b.grad != nil)
    }
}
