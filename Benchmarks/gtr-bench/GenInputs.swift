import Agents
import Environments
import Foundation
import Tensors
import Training

/// `gtr-bench gen-inputs FILE.json`: what `scripts/peer_generate.py` needs to run gtr's generation benchmark in
/// PyTorch on identical inputs. The 8 Points24 inputs of `AgentBench` (seeds 0..<8) as the default agent sees
/// them (prompt ids with <bos>/<sep>, pixel-mean-centred patches), and gtr's greedy answers as the reference:
/// each row run alone, at most `maxNewTokens` tokens, stopping at <eos> (which is counted), as `generate` does.
enum GenInputs {
    static let maxNewTokens = 64

    static func write(to url: URL) throws {
        guard let dir = DefaultAgent.shipped else { throw AgentError.badInput("the default agent checkpoint is missing") }
        let m = try TinyVLM.load(from: dir)
        let inputs = try (0..<8).map { s -> AgentInput in
            let e = Points24(); _ = try e.reset(seed: UInt64(s)); return AgentInput.from(e)
        }
        let g = GenerationConfig(temperature: 0, maxNewTokens: maxNewTokens, greedy: true)
        let solo = try inputs.map { try m.generate([$0], config: g)[0] }
        let batch = try m.generate(inputs, config: g)
        // gtr's speed on the same work (median of 3), so a table can set both sides side by side
        func tokS(_ body: () throws -> Int) rethrows -> Double {
            var r: [Double] = []
            for _ in 0..<3 {
                let t = DispatchTime.now().uptimeNanoseconds
                let n = try body()
                r.append(Double(n) / (Double(DispatchTime.now().uptimeNanoseconds - t) / 1e9))
            }
            return r.sorted()[1]
        }
        let b1 = try tokS { try inputs.reduce(0) { $0 + (try m.generate([$1], config: g)[0].tokenIDs.count) } }
        let b8 = try tokS { try m.generate(inputs, config: g).reduce(0) { $0 + $1.tokenIDs.count } }
        let rows = try zip(inputs, solo).map { input, o -> [String: Any] in
            let ids = m.promptIDs(input.prompt), pts = try m.patches(input.image)
            return ["prompt_ids": ids, "patches": pts.map(Double.init), "tokens": o.tokenIDs.map(Int.init),
                    "logprobs": o.tokenLogProbs.map(Double.init), "value": Double(o.value),
                    "first_logits": firstLogits(m, ids: ids, patches: pts).map(Double.init)]
        }
        let out: [String: Any] = [
            "model_dir": dir.path, "max_new_tokens": maxNewTokens, "stop_at_eos": true, "rows": rows,
            "patch_shape": [m.config.patchCount, m.config.patchDim], "pad_id": Int(BPETokenizer.pad), "eos_id": Int(BPETokenizer.eos),
            "gtr": ["b1_tok_s": b1, "b8_tok_s": b8, "threads": BLASRuntime.threads,
                    "batch_matches_solo": zip(batch, solo).allSatisfy { $0.tokenIDs == $1.tokenIDs }],
        ]
        try JSONSerialization.data(withJSONObject: out, options: [.sortedKeys]).write(to: url)
    }

    /// Logits of the first answer token of one row alone: visual tokens (patch embedding, norm, patch positions)
    /// then the text embeddings, through the decoder — TinyVLM's unpadded input path, from its public parts.
    static func firstLogits(_ m: TinyVLM, ids: [Int], patches: [Float]) -> [Float] {
        Autograd.noGrad {
            let p = m.config.patchCount, d = m.config.transformer.dModel
            let pix = Tensor<Float>(shape: [1, p, m.config.patchDim], scalars: patches)
            let vis = m.patchNorm(m.patchEmbed(pix)) + m.patchPositions(Array(0..<p), shape: [p])
            let x = Tensor.concat([vis, m.decoder.embed(ids, shape: [1, ids.count])], axis: 1)
            let t = x.shape[1]
            let last = m.decoder.hidden(x).slice(axis: 1, t - 1, t).reshape([1, d])
            return m.decoder.logits(last).scalars
        }
    }
}
