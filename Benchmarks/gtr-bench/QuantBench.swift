import Agents
import Environments
import Foundation
import Tensors
import Training

/// `gtr-bench quant`: SmolLM2-135M decoding on its quantised blocks against llama.cpp (llama-cpp-python in
/// .venv-llama, scripts/llama_cpp_decode_bench.py) on the same file, prompt and thread count, each in a process of
/// its own: prefill tokens/s over a 93-token chat prompt, decode tokens/s over 128 greedy tokens, peak RSS.
/// `gtr-bench quant-child MODEL THREADS PROMPT_FILE` is one gtr measurement (one JSON line).
enum QuantBench {
    static let prompt = "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
        + "<|im_start|>user\nYou are playing 24 with the cards 4, 6, 2 and 3. Every card must be used exactly once, with "
        + "addition, subtraction, multiplication and division and any brackets you like. Explain how you search for a "
        + "formula, then write one formula that makes 24 and check it step by step.<|im_end|>\n<|im_start|>assistant\n"
    static let steps = 128

    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    static func status(_ key: String) -> Double {
        let s = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let line = s.split(separator: "\n").first { $0.hasPrefix(key + ":") }
        return (line?.split(separator: " ").dropFirst().first).flatMap { Double($0) }.map { $0 / 1024 } ?? 0
    }

    /// One measurement in this process: best of two runs after a warm-up.
    static func child(model path: String, threads: Int, promptFile: String) throws {
        Parallel.setThreads(threads)
        let t0 = now()
        let m = try GGUFLlama(path: path)
        let loadS = now() - t0
        let text = try String(contentsOfFile: promptFile, encoding: .utf8)
        let ids = m.tokenizer.encode(text, addSpecial: false)
        let v = m.model.config.vocabSize
        func argmax(_ l: Tensor<Float>) -> Int {
            let p = l.pointer + (l.count - v)
            var best = 0
            for i in 1..<v where p[i] > p[best] { best = i }
            return best
        }
        func run() -> (Double, Double, [Int]) {
            Autograd.noGrad {
                if let r = m.runner {
                    // llama.cpp's arithmetic (F16 KV cache), as `GGUFLlama.greedy` runs
                    let seq = r.makeSequence(capacity: ids.count + steps + 1)
                    let a = now()
                    var next = argmax(r.logits(r.forward([ids], [seq])))
                    let b = now()
                    var out: [Int] = []
                    for _ in 0..<steps {
                        out.append(next)
                        next = argmax(r.logits(r.forward([[next]], [seq])))
                    }
                    return (b - a, now() - b, out)
                }
                let cache = KVCache(layers: m.model.config.layers, reserve: ids.count + steps)
                let a = now()
                var next = argmax(m.model(ids, batch: 1, cache: cache))
                let b = now()
                var out: [Int] = []
                for _ in 0..<steps {
                    out.append(next)
                    next = argmax(m.model([next], batch: 1, cache: cache))
                }
                return (b - a, now() - b, out)
            }
        }
        _ = run()
        var p = Double.infinity, d = Double.infinity, out: [Int] = []
        for _ in 0..<2 { let r = run(); p = min(p, r.0); d = min(d, r.1); out = r.2 }
        print("{\"prompt_tokens\": \(ids.count), \"prefill_tps\": \(Double(ids.count) / p), \"decode_tps\": \(Double(steps) / d), "
              + "\"peak_rss_mb\": \(status("VmHWM")), \"load_s\": \(loadS), \"greedy\": \(out)}")
    }

    /// Writes every intermediate tensor of a prompt and `steps` greedy tokens (`LlamaRunner.inspect`) as raw
    /// float32 files `DIR/{p|d0|d1…}|{name}-{layer}.f32` with a `DIR/shapes.txt` index, to compare op by op with
    /// llama.cpp's own (`scripts/llama_cpp_dump.py`, `scripts/compare_llama_dump.py`).
    static func dump(model path: String, dir: String, text: String, steps: Int) throws {
        let m = try GGUFLlama(path: path)
        guard let r = m.runner else { print("not a llama-shaped model"); return }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var phase = "p", index = ""
        r.inspect = { name, layer, t in
            let file = "\(phase)|\(name)-\(layer).f32"
            let data = Data(bytes: t.pointer, count: t.count * 4)
            FileManager.default.createFile(atPath: dir + "/" + file, contents: data)
            index += "\(file) \(t.shape.map(String.init).joined(separator: " "))\n"
        }
        let ids = m.tokenizer.encode(text, addSpecial: false)
        let seq = r.makeSequence(capacity: ids.count + steps + 1)
        var logits = r.logits(r.forward([ids], [seq])).scalars
        var out: [Int] = []
        for s in 0..<steps {
            let next = logits.indices.max { logits[$0] < logits[$1] }!
            out.append(next)
            phase = "d\(s)"
            logits = r.logits(r.forward([[next]], [seq])).scalars
        }
        try index.write(toFile: dir + "/shapes.txt", atomically: true, encoding: .utf8)
        print("\(ids.count) prompt tokens; greedy \(out)")
    }

    static func spawn(_ exe: String, _ args: [String]) -> [String: Any]? {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = args
        let pipe = Pipe()
        p.standardOutput = pipe
        do { try p.run() } catch { return nil }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let line = String(decoding: data, as: UTF8.self).split(separator: "\n").last.map(String.init) ?? ""
        return (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
    }

    static func run() throws {
        let root = FileManager.default.currentDirectoryPath
        let promptFile = FileManager.default.temporaryDirectory.appendingPathComponent("gtr-quant-prompt-\(getpid()).txt").path
        try prompt.write(toFile: promptFile, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: promptFile) }
        let python = root + "/.venv-llama/bin/python"
        let havePython = FileManager.default.isExecutableFile(atPath: python)
        if !havePython { print("(no .venv-llama: llama.cpp columns left empty; `make real-servers` builds it)") }
        let rounds = ProcessInfo.processInfo.environment["GTR_QUANT_ROUNDS"].flatMap(Int.init) ?? 3
        print("(\(rounds) alternating rounds of gtr and llama.cpp per row, each side's best; each round is a fresh process)")
        print("| model | threads | gtr prefill tok/s | llama.cpp | ratio | gtr decode tok/s | llama.cpp | ratio | gtr peak RSS MB | llama.cpp (incl. Python) | same greedy |")
        print("|---|---|---|---|---|---|---|---|---|---|---|")
        for name in ["SmolLM2-135M-Instruct.Q4_1.gguf", "SmolLM2-135M-Instruct.Q8_0.gguf"] {
            let path = root + "/models/" + name
            guard FileManager.default.fileExists(atPath: path) else { print("(\(name) is absent)"); continue }
            for threads in [1, 2] {
                // rounds alternate the two sides (this machine's speed drifts by a third within minutes); each side
                // keeps its best prefill and decode rate, its largest peak RSS and its last greedy tokens
                var g: [String: Any] = [:], l: [String: Any] = [:]
                func merge(_ into: inout [String: Any], _ r: [String: Any]?) {
                    guard let r else { return }
                    for (k, v) in r {
                        if ["prefill_tps", "decode_tps", "peak_rss_mb"].contains(k), let x = v as? Double, let y = into[k] as? Double {
                            into[k] = max(x, y)
                        } else { into[k] = v }
                    }
                }
                for _ in 0..<rounds {
                    merge(&g, spawn(CommandLine.arguments[0], ["quant-child", path, String(threads), promptFile]))
                    if havePython { merge(&l, spawn(python, [root + "/scripts/llama_cpp_decode_bench.py", path, String(threads), promptFile])) }
                }
                func num(_ d: [String: Any], _ k: String) -> Double? { d[k] as? Double }
                func cell(_ x: Double?) -> String { x.map { String(format: "%.1f", $0) } ?? "–" }
                func ratio(_ a: Double?, _ b: Double?) -> String { a != nil && b != nil ? String(format: "%.2f×", a! / b!) : "–" }
                let same = (g["greedy"] as? [Int]).flatMap { a in (l["greedy"] as? [Int]).map { a == $0 ? "yes" : "no" } } ?? "–"
                print("| \(name.split(separator: ".")[1]) (\(g["prompt_tokens"] ?? "?") prompt tokens) | \(threads) | \(cell(num(g, "prefill_tps"))) | \(cell(num(l, "prefill_tps"))) | \(ratio(num(g, "prefill_tps"), num(l, "prefill_tps"))) "
                      + "| \(cell(num(g, "decode_tps"))) | \(cell(num(l, "decode_tps"))) | \(ratio(num(g, "decode_tps"), num(l, "decode_tps"))) "
                      + "| \(cell(num(g, "peak_rss_mb"))) | \(cell(num(l, "peak_rss_mb"))) | \(same) |")
            }
        }
        let q41 = root + "/models/SmolLM2-135M-Instruct.Q4_1.gguf"
        if FileManager.default.fileExists(atPath: q41) {
            for threads in [1, 2] {
                Parallel.setThreads(threads)
                let sps = try loraSamplesPerSecond(q41)
                print(String(format: "LoRA SFT samples/s (SmolLM2 Q4_1, rank 8, batch 4 Points24 text-mode expert steps, fwd+bwd+AdamW), %d thread(s): %.2f", threads, sps))
            }
        }
    }

    /// Optimizer steps of LoRA SFT on SmolLM2 (one warm-up step, then 3 timed).
    static func loraSamplesPerSecond(_ path: String) throws -> Double {
        let m = try LlamaPolicy(path: path)
        try m.enableLoRA(LoRAConfig(rank: 8), seed: 1)
        let data = try ExpertData.collect(env: "points24", steps: 16, seed: 7, options: ["solvable_only": "true", "observation": "text"])
        let rows = try m.prepare(data.map { TrainingRow(input: $0.input, output: m.encode($0.answer.text) + [m.endOfText]) })
        let opt = Adam.adamW(m.namedParameters(), learningRate: 1e-3, weightDecay: 0.01)
        var t0 = now()
        for step in 0..<4 {
            if step == 1 { t0 = now() }
            let batch = Array(rows[(step * 4)..<(step * 4 + 4)])
            let tokens = Float(batch.reduce(0) { $0 + $1.output.count })
            let loss = try m.score(batch, temperature: 1).weighted.sum() * (-1 / tokens)
            m.zeroGrad()
            loss.backward()
            opt.step()
        }
        return 12 / (now() - t0)
    }
}
