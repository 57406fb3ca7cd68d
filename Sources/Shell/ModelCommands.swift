import Agents
import Environments
import Foundation
import Tensors
import Training

extension Shell {
    static let modelCommands: [CommandSpec] = [
        CommandSpec(name: "model", group: "agent",
                    summary: "load a checkpoint (default: the shipped agent, trained on first use), show or save it",
                    example: "model load default", positionals: [.optional("load|info|save", ["load", "info", "save"]), .optional("PATH")],
                    usageOverride: "model load PATH|default | model info | model save DIR") { sh, a in
            switch a.positional.first {
            case "load":
                guard a.positional.count == 2 else { throw CommandError("usage: model load PATH|default") }
                try sh.loadModel(a.positional[1])
            case "info", nil:
                guard a.positional.count <= 1 else { throw CommandError("usage: model info") }
                let m = try sh.requireModel()
                let c = m.config.transformer
                sh.out("model:     \(m.name) from \(sh.agent.source)")
                sh.out("params:    \(m.parameterCount) (\(String(format: "%.2f", Double(m.parameterCount * 4) / 1e6)) MB fp32)")
                sh.out("decoder:   d=\(c.dModel) layers=\(c.layers) heads=\(c.heads) ffn=\(c.ffnHidden) \(c.norm.rawValue)norm \(c.activation.rawValue) \(c.positions.rawValue) context=\(c.maxSequence)")
                sh.out("vision:    \(m.config.imageSide)px / \(m.config.downsample) → \(m.config.patchesPerSide)×\(m.config.patchesPerSide) patches of \(m.config.patch)px = \(m.config.patchCount) visual tokens")
                sh.out("tokenizer: byte-level BPE, \(m.tokenizer.vocabSize) ids (\(m.tokenizer.merges.count) merges)")
                let g = sh.agent.generation
                sh.out("sampling:  temperature=\(g.temperature) top_p=\(g.topP) penalty=\(g.repetitionPenalty) max_tokens=\(g.maxNewTokens) greedy=\(g.greedy) seed=\(g.seed) lambda=\(sh.agent.lambda)")
                for k in m.training.keys.sorted() { sh.out("trained:   \(k) = \(m.training[k]!)") }
                sh.out("blas:      OpenBLAS core \(BLASRuntime.coreName), \(BLASRuntime.threads) thread(s)")
            case "save":
                guard a.positional.count == 2 else { throw CommandError("usage: model save DIR") }
                let m = try sh.requireModel()
                let url = sh.resolve(a.positional[1])
                do { try m.save(to: url) } catch { throw CommandError("cannot save to \(a.positional[1]): \(error)") }
                sh.out("saved \(a.positional[1]) (config.json, model.safetensors)")
            default: throw CommandError("usage: model load PATH|default | model info | model save DIR")
            }
        },
        CommandSpec(name: "agent", group: "agent", summary: "show or set how the agent samples and how its log-prob is weighted",
                    example: "agent temperature=0.2 lambda=0.5",
                    options: [OptionSpec("temperature", .number(0.01...10), default: "\(GenerationConfig().temperature)"), OptionSpec("top_p", .number(0.01...1), default: "\(GenerationConfig().topP)"),
                              OptionSpec("penalty", .number(0.5...5), default: "1", "repetition penalty (behaviour only)"),
                              OptionSpec("max_tokens", .int(1...4096), default: String(GenerationConfig().maxNewTokens)), OptionSpec("greedy", .bool, default: "false"),
                              OptionSpec("seed", .seed, default: String(GenerationConfig().seed), "generation k samples with seed+k"),
                              OptionSpec("lambda", .number(0...10), default: "0.5", "weight of thought tokens in the log-prob")]) { sh, a in
            var g = sh.agent.generation
            if let t = a.options["temperature"].flatMap(Float.init) { g.temperature = t }
            if let p = a.options["top_p"].flatMap(Float.init) { g.topP = p }
            if let r = a.options["penalty"].flatMap(Float.init) { g.repetitionPenalty = r }
            if let n = a.options["max_tokens"].flatMap(Int.init) { g.maxNewTokens = n }
            if let b = a.options["greedy"].flatMap(Bool.init) { g.greedy = b }
            if let s = a.options["seed"].flatMap(UInt64.init) { g.seed = s; sh.agent.counter = 0 }
            if let l = a.options["lambda"].flatMap(Float.init) { sh.agent.lambda = l }
            sh.agent.generation = g
            sh.out("temperature=\(g.temperature) top_p=\(g.topP) penalty=\(g.repetitionPenalty) max_tokens=\(g.maxNewTokens) greedy=\(g.greedy) seed=\(g.seed) lambda=\(sh.agent.lambda)")
            if g.topP < 1 || g.repetitionPenalty != 1 {
                sh.out(sh.config.style.dim("note: top_p/penalty change the behaviour policy; PPO scores softmax(logits/T) (behaviour log-probs are logged too)"))
            }
        },
        CommandSpec(name: "sft", group: "agent",
                    summary: "train the tiny VLM on N expert steps (progress bar, loss curve, held-out metrics), save and load it",
                    example: "sft env=numberline steps=500 epochs=2 out=nl-agent",
                    options: [OptionSpec("env", .choice(Expert.environments), default: SFTConfig().env), OptionSpec("steps", .int(1...1_000_000), default: String(SFTConfig().steps)),
                              OptionSpec("epochs", .int(1...1000), default: String(SFTConfig().epochs)), OptionSpec("batch", .int(1...1024), default: String(SFTConfig().batch)),
                              OptionSpec("lr", .number(1e-7...0.999)), OptionSpec("seed", .seed, default: String(SFTConfig().seed)),
                              OptionSpec("held_out", .int(0...100_000), default: String(SFTConfig().heldOut)), OptionSpec("out", .path, "DIR, or default (replaces the default agent)"),
                              OptionSpec("merges", .int(0...20_000), default: String(SFTConfig().merges)), OptionSpec("d_model", .int(32...1024), default: String(SFTConfig().dModel), "a multiple of 32"),
                              OptionSpec("layers", .int(1...32), default: String(SFTConfig().layers))], volatile: true) { sh, a in
            var c = SFTConfig()
            c.env = a.options["env"] ?? c.env
            if let v = a.options["steps"].flatMap(Int.init) { c.steps = v }
            if let v = a.options["epochs"].flatMap(Int.init) { c.epochs = v }
            if let v = a.options["batch"].flatMap(Int.init) { c.batch = v }
            if let v = a.options["held_out"].flatMap(Int.init) { c.heldOut = v }
            if let v = a.options["merges"].flatMap(Int.init) { c.merges = v }
            if let v = a.options["d_model"].flatMap(Int.init) { c.dModel = v }
            if let v = a.options["layers"].flatMap(Int.init) { c.layers = v }
            guard c.dModel % 32 == 0 else { throw CommandError("d_model=\(c.dModel): expected a multiple of 32") }
            if let f = a.options["lr"].flatMap(Float.init) { c.learningRate = f }
            c.seed = a.options["seed"].flatMap(UInt64.init) ?? c.seed
            let command = "sft " + a.all.joined(separator: " ")
            let m = try sh.runSFT(c, out: a.options["out"], command: command)
            sh.agent.policy = m
            sh.agent.source = a.options["out"] ?? "sft (not saved)"
            sh.agent.turn = nil
        },
    ]

    var agentModelName: String { agent.policy.map { "\($0.name):\(agent.source)" } ?? "" }

    /// The loaded policy; the first command that needs one loads the default agent when it is available
    /// without training (so a fresh `make run` can `think` at once).
    func requireModel() throws -> TinyVLM {
        if agent.policy == nil, autoLoadDefault, DefaultAgent.locate(home: config.home) != nil { try loadModel("default") }
        guard let m = agent.policy else { throw CommandError("no model loaded: model load default (or sft ...)") }
        return m
    }

    /// Loads a checkpoint directory, or the default agent (training and caching it first when absent).
    func loadModel(_ spec: String) throws {
        let url: URL
        if spec == "default" {
            if let u = DefaultAgent.locate(home: config.home) {
                url = u
            } else {
                out("no default agent found (shipped or in \(DefaultAgent.cache(home: config.home).path)): training one now (\(DefaultAgent.quickRecipe))")
                let words = DefaultAgent.quickRecipe.split(separator: " ").dropFirst().map(String.init)
                let spec = Shell.spec("sft")!
                try spec.run(self, try Arguments.parse(words, words: [], spec: spec))
                return
            }
        } else {
            url = resolve(spec)
        }
        do {
            let m = try TinyVLM.load(from: url)
            agent.policy = m
            agent.source = spec == "default" ? "default (\(url.path))" : spec
            agent.turn = nil
            agent.counter = 0
            out("loaded \(spec): \(m.parameterCount) parameters, vocabulary \(m.tokenizer.vocabSize)" + (m.training["metrics"].map { "; \($0)" } ?? ""))
        } catch let e as AgentError {
            throw CommandError(e.description)
        }
    }

    /// `sft`: collect expert steps, train with a progress bar, print the loss curve and held-out metrics, save.
    func runSFT(_ c: SFTConfig, out outDir: String?, command: String) throws -> TinyVLM {
        let options = ExpertData.defaultOptions(c.env)
        let trainSeed = c.seed &* 1_000_000 &+ 1_000, heldSeed = c.seed &* 1_000_000 &+ 900_000
        out("collecting \(c.steps) expert steps of \(c.env) (hands from seed \(trainSeed)) and \(c.heldOut) held-out (from \(heldSeed))")
        let train = try ExpertData.collect(env: c.env, steps: c.steps, seed: trainSeed, options: options)
        let held = try ExpertData.collect(env: c.env, steps: c.heldOut, seed: heldSeed, options: options)
        let model = try SFT.makeModel(c, data: train)
        let avgPrompt = train.prefix(200).map { model.promptIDs($0.input.prompt).count }.reduce(0, +) / max(1, min(200, train.count))
        let avgAnswer = train.prefix(200).map { model.tokenizer.encode($0.answer.text).count + 1 }.reduce(0, +) / max(1, min(200, train.count))
        out("model: \(model.parameterCount) parameters; tokenizer \(model.tokenizer.vocabSize) ids; a step is \(model.config.patchCount) visual + ~\(avgPrompt) prompt + ~\(avgAnswer) answer tokens")
        var bar = progressBar(total: ((train.count + c.batch - 1) / c.batch) * c.epochs, label: "sft")
        var recent: [Float] = []
        let result = try SFT.train(model, train: train, heldOut: held, config: c, progress: { p in
            recent.append(p.loss)
            if recent.count > 20 { recent.removeFirst() }
            let avg = recent.reduce(0, +) / Float(recent.count)
            bar.update(p.step, String(format: "loss %.3f lr %.1e %.0f samples/s", avg, p.learningRate, p.samplesPerSecond))
        }, shouldStop: { Interrupt.pending })
        if Interrupt.pending { Interrupt.clear(); out("interrupted: keeping the model as trained so far") }
        let l = result.losses
        out("loss curve: \(sparkline(l))  \(String(format: "%.3f", l.first ?? 0)) → \(String(format: "%.3f", l.suffix(20).reduce(0, +) / Float(max(1, min(20, l.count))))) over \(l.count) steps")
        out(String(format: "trained in %.1f s (%.1f samples/s)", result.seconds, result.samplesPerSecond))
        out("held-out: " + result.metrics.summary)
        model.training = [
            "command": command, "env": c.env, "steps": String(c.steps), "epochs": String(c.epochs),
            "metrics": result.metrics.summary, "final_loss": String(format: "%.4f", l.suffix(20).reduce(0, +) / Float(max(1, min(20, l.count)))),
            "gtr_commit": BuildInfo.gitCommit ?? "unknown",
        ]
        if let outDir {
            let url = outDir == "default" ? DefaultAgent.cache(home: config.home) : resolve(outDir)
            do { try model.save(to: url) } catch { throw CommandError("cannot save to \(url.path): \(error)") }
            let size = (try? FileManager.default.attributesOfItem(atPath: url.appendingPathComponent("model.safetensors").path)[.size] as? Int) ?? 0
            out("saved \(url.path) (\(String(format: "%.1f", Double(size) / 1e6)) MB)")
        }
        return model
    }
}
