import Agents
import Environments
import Foundation
import Shell
import Tensors
import Training

/// Agent speed (issue 5): generated tokens per second at batch 1 and 8, and SFT samples per second.
enum AgentBench {
    static func model() throws -> (TrainablePolicy, String) {
        if let dir = DefaultAgent.shipped { return (try TinyVLM.load(from: dir), "default agent") }
        var c = SFTConfig(); c.merges = 700
        let data = try ExpertData.collect(env: "points24", steps: 200, seed: 1, options: ["solvable_only": "true"])
        return (try SFT.makeModel(c, data: data), "untrained default shape")
    }

    static func inputs() throws -> [AgentInput] {
        try (0..<8).map { s -> AgentInput in let e = Points24(); try e.reset(seed: UInt64(s)); return AgentInput.from(e) }
    }

    /// Greedy generation of the 8 inputs (at most 64 tokens, stopping at eos, as scripts/peer_generate.py does):
    /// tokens/s at batch 1 (one input after another) and batch 8, end to end (prompt included), and for the
    /// decoding steps alone (the same runs minus a run that stops after the first token, i.e. the prompt's cost).
    /// Medians of 5.
    static func greedyRates() throws -> [String: Double] {
        let (m, _) = try model()
        let xs = try inputs()
        let full = GenerationConfig(temperature: 0, maxNewTokens: 64, greedy: true)
        let first = GenerationConfig(temperature: 0, maxNewTokens: 1, greedy: true)
        func run(_ batch: Int, _ g: GenerationConfig) throws -> (tokens: Int, s: Double, longest: Int) {
            var times: [Double] = [], tokens = 0, longest = 0
            for _ in 0..<5 {
                tokens = 0
                let t = DispatchTime.now().uptimeNanoseconds
                for start in stride(from: 0, to: 8, by: batch) {
                    let outs = try m.generate(Array(xs[start..<min(8, start + batch)]), config: g)
                    tokens += outs.reduce(0) { $0 + $1.tokenIDs.count }
                    longest = max(longest, outs.map(\.tokenIDs.count).max() ?? 0)
                }
                times.append(Double(DispatchTime.now().uptimeNanoseconds - t) / 1e9)
            }
            return (tokens, times.sorted()[2], longest)
        }
        _ = try run(8, full)
        var out: [String: Double] = ["threads": Double(Parallel.threads)]
        var perStep: [Int: Double] = [:], prompt: [Int: Double] = [:], total: [Int: Double] = [:], steps: [Int: Int] = [:]
        for b in [1, 8] {
            let f = try run(b, full), p = try run(b, first)
            out["b\(b)_tok_s"] = Double(f.tokens) / f.s
            out["b\(b)_decode_tok_s"] = Double(f.tokens - p.tokens) / max(1e-9, f.s - p.s)
            out["tokens"] = Double(f.tokens)
            // a decoding step advances every row of the batch by one token; batch 8 takes as many as its longest row
            steps[b] = b == 1 ? f.tokens - p.tokens : f.longest - 1
            perStep[b] = (f.s - p.s) / Double(max(1, steps[b]!))
            prompt[b] = p.s; total[b] = f.s
        }
        // What one decoding step costs at batch 8 against batch 1, and the end-to-end ratio batch 8 would reach if
        // its steps cost no more than batch 1's (the prompt passes as measured): the bound the prompt sets.
        out["b8_step_over_b1_step"] = perStep[8]! / perStep[1]!
        out["b8_prompt_share"] = prompt[8]! / total[8]!
        out["ratio_if_b8_steps_cost_b1"] = total[1]! / (prompt[8]! + Double(steps[8]!) * perStep[1]!)
        return out
    }

    /// Milliseconds per round of greedy generation of the 8 inputs at batch `batch` (for a sampling profiler).
    static func generationLoop(batch: Int, rounds: Int, maxNewTokens: Int = 64) throws -> Double {
        let (m, _) = try model()
        let xs = try inputs()
        let g = GenerationConfig(temperature: 0, maxNewTokens: maxNewTokens, greedy: true)
        let t = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<rounds {
            for start in stride(from: 0, to: 8, by: batch) { _ = try m.generate(Array(xs[start..<min(8, start + batch)]), config: g) }
        }
        return Double(DispatchTime.now().uptimeNanoseconds - t) / 1e6 / Double(rounds)
    }

    /// SFT samples/s on 256 Points24 expert steps, batch 16, one epoch (after a warm-up epoch).
    static func sftRate() throws -> Double {
        let (m, _) = try model()
        var c = SFTConfig(); c.epochs = 1; c.batch = 16
        let train = try ExpertData.collect(env: "points24", steps: 256, seed: 7, options: ["solvable_only": "true"])
        _ = try SFT.train(m, train: Array(train.prefix(64)), heldOut: [], config: c)
        return try SFT.train(m, train: train, heldOut: [], config: c).samplesPerSecond
    }

    /// Greedy generation of the 8 inputs, in batches of `batch`, with `OpProfile` on: where a decoding step's
    /// time goes.
    static func profileGeneration(batch: Int, maxNewTokens: Int = 64) throws -> String {
        let (m, _) = try model()
        let inputs = try (0..<8).map { s -> AgentInput in
            let e = Points24(); try e.reset(seed: UInt64(s)); return AgentInput.from(e)
        }
        let g = GenerationConfig(temperature: 0, maxNewTokens: maxNewTokens, greedy: true)
        func run() throws -> Int {
            var n = 0
            for start in stride(from: 0, to: 8, by: batch) {
                n += try m.generate(Array(inputs[start..<min(8, start + batch)]), config: g).reduce(0) { $0 + $1.tokenIDs.count }
            }
            return n
        }
        _ = try run()
        OpProfile.enabled = true
        OpProfile.reset()
        let t = DispatchTime.now().uptimeNanoseconds
        let tokens = try run()
        let s = Double(DispatchTime.now().uptimeNanoseconds - t) / 1e9
        OpProfile.enabled = false
        return OpProfile.table(steps: 1) + String(format: "\n%d tokens in %.1f ms (%.0f tokens/s, batch %d, %d thread(s))\n", tokens, s * 1000,
                                                  Double(tokens) / s, batch, Parallel.threads)
    }

    static func rows() throws -> [(String, String, String)] {
        let (m, what) = try model()
        let inputs = try (0..<8).map { s -> AgentInput in
            let e = Points24(); try e.reset(seed: UInt64(s)); return AgentInput.from(e)
        }
        let g = GenerationConfig(temperature: 1, maxNewTokens: 64, seed: 3)
        _ = try m.generate([inputs[0]], config: g)  // warm-up
        var tokens1 = 0
        let t1 = try time { for x in inputs { tokens1 += try m.generate([x], config: g)[0].tokenIDs.count } }
        var tokens8 = 0
        let t8 = try time { tokens8 = try m.generate(inputs, config: g).reduce(0) { $0 + $1.tokenIDs.count } }
        var c = SFTConfig(); c.epochs = 1; c.batch = 16
        let train = try ExpertData.collect(env: "points24", steps: 256, seed: 7, options: ["solvable_only": "true"])
        let r = try SFT.train(m, train: train, heldOut: [], config: c)
        return [
            ("agent generation tokens/s, batch 1 (\(what), \(m.parameterCount) params)", String(format: "%.0f", Double(tokens1) / t1), "\(tokens1) tokens, KV cache"),
            ("agent generation tokens/s, batch 8", String(format: "%.0f", Double(tokens8) / t8), String(format: "%.1f× batch 1", (Double(tokens8) / t8) / (Double(tokens1) / t1))),
            ("SFT samples/s (points24 expert steps, batch 16)", String(format: "%.1f", r.samplesPerSecond), "fwd+bwd+AdamW, \(BLASRuntime.threads) thread(s)"),
        ]
    }
}
