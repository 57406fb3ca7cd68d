import Agents
import Environments
import Foundation
import Tensors
import Training

extension Shell {
    static let modelCommands: [CommandSpec] = [
        CommandSpec(name: "model", group: "agent", usage: "model load PATH|default | model info | model save DIR",
                    summary: "load a checkpoint (default: the shipped agent, trained on first use), show or save it",
                    example: "model load default", subcommands: ["load", "info", "save"], volatile: false) { sh, a in
            switch a.positional.first {
            case "load":
                guard a.positional.count == 2 else { throw CommandError("usage: model load PATH|default") }
                try sh.loadModel(a.positional[1])
            case "info", nil:
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
            case let x?: throw CommandError("unknown subcommand '\(x)' (load, info, save)")
            }
        },
        CommandSpec(name: "agent", group: "agent", usage: "agent [temperature=T] [top_p=P] [penalty=R] [max_tokens=N] [greedy=true|false] [seed=S] [lambda=L]",
                    summary: "show or set how the agent samples and how its log-prob is weighted",
                    example: "agent temperature=0.2 lambda=0.5",
                    options: ["temperature", "top_p", "penalty", "max_tokens", "greedy", "seed", "lambda"]) { sh, a in
            var g = sh.agent.generation
            func float(_ k: String, _ range: ClosedRange<Float>) throws -> Float? {
                guard let v = a.options[k] else { return nil }
                guard let f = Float(v), range.contains(f) else { throw CommandError("\(k)=\(v): expected a number in \(range.lowerBound)…\(range.upperBound)") }
                return f
            }
            if let t = try float("temperature", 0.01...10) { g.temperature = t }
            if let p = try float("top_p", 0.01...1) { g.topP = p }
            if let r = try float("penalty", 0.5...5) { g.repetitionPenalty = r }
            g.maxNewTokens = try a.int("max_tokens", default: g.maxNewTokens, range: 1...4096)
            if let v = a.options["greedy"] { guard let b = Bool(v) else { throw CommandError("greedy=\(v): expected true or false") }; g.greedy = b }
            if let s = try a.seed() { g.seed = s; sh.agent.counter = 0 }
            if let l = try float("lambda", 0...10) { sh.agent.lambda = l }
            sh.agent.generation = g
            sh.out("temperature=\(g.temperature) top_p=\(g.topP) penalty=\(g.repetitionPenalty) max_tokens=\(g.maxNewTokens) greedy=\(g.greedy) seed=\(g.seed) lambda=\(sh.agent.lambda)")
            if g.topP < 1 || g.repetitionPenalty != 1 {
                sh.out(sh.config.style.dim("note: top_p/penalty change the behaviour policy; PPO scores softmax(logits/T) (behaviour log-probs are logged too)"))
            }
        },
        CommandSpec(name: "sft", group: "agent",
                    usage: "sft [env=points24] [steps=N] [epochs=E] [batch=B] [lr=X] [seed=S] [held_out=N] [out=DIR|default] [merges=M] [d_model=D] [layers=L]",
                    summary: "train the tiny VLM on N expert steps (progress bar, loss curve, held-out metrics), save and load it",
                    example: "sft env=numberline steps=500 epochs=2 out=nl-agent",
                    options: ["env", "steps", "epochs", "batch", "lr", "seed", "held_out", "out", "merges", "d_model", "layers"], volatile: true) { sh, a in
            var c = SFTConfig()
            c.env = a.options["env"] ?? c.env
            guard Expert.environments.contains(c.env) else { throw CommandError("env=\(c.env): experts exist for \(Expert.environments.joined(separator: ", "))") }
            c.steps = try a.int("steps", default: c.steps, range: 1...1_000_000)
            c.epochs = try a.int("epochs", default: c.epochs, range: 1...1000)
            c.batch = try a.int("batch", default: c.batch, range: 1...1024)
            c.heldOut = try a.int("held_out", default: c.heldOut, range: 0...100_000)
            c.merges = try a.int("merges", default: c.merges, range: 0...20_000)
            c.dModel = try a.int("d_model", default: c.dModel, range: 32...1024)
            c.layers = try a.int("layers", default: c.layers, range: 1...32)
            guard c.dModel % 32 == 0 else { throw CommandError("d_model=\(c.dModel): expected a multiple of 32") }
            if let v = a.options["lr"] { guard let f = Float(v), f > 0, f < 1 else { throw CommandError("lr=\(v): expected a number in (0, 1)") }; c.learningRate = f }
            c.seed = try a.seed() ?? c.seed
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
                let args = Arguments(words, words: [])
                try Shell.spec("sft")!.run(self, args)
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
