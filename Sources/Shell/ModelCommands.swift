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
                sh.out("model:     \(m.name) from \(sh.agent.source)")
                for line in m.describe() { sh.out(line) }
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
                    usage: "sft [env=points24] [steps=N] [epochs=E] [batch=B] [lr=X] [seed=S] [held_out=N] [out=DIR|default] [merges=M] [d_model=D] [layers=L] [kind=tiny-vlm]",
                    summary: "train the tiny VLM on N expert steps (progress bar, loss curve, held-out metrics), save and load it",
                    example: "sft env=numberline steps=500 epochs=2 out=nl-agent",
                    options: ["env", "steps", "epochs", "batch", "lr", "seed", "held_out", "out", "merges", "d_model", "layers", "kind"], volatile: true) { sh, a in
            var c = SFTConfig()
            c.kind = a.options["kind"] ?? c.kind
            guard PolicyRegistry.trainableKinds.contains(c.kind) else {
                throw CommandError("kind=\(c.kind): trainable kinds are \(PolicyRegistry.trainableKinds.joined(separator: ", "))")
            }
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
            try sh.runSFT(c, out: a.options["out"], command: command)
        },
    ]

    var agentModelName: String { agent.policy.map { "\($0.name):\(agent.source)" } ?? "" }

    /// The loaded policy; the first command that needs one loads the default agent when it is available
    /// without training (so a fresh `make run` can `think` at once).
    func requireModel() throws -> Policy {
        if agent.policy == nil, autoLoadDefault, DefaultAgent.locate(home: config.home) != nil { try loadModel("default") }
        guard let m = agent.policy else { throw CommandError("no model loaded: model load default (or sft ...)") }
        return m
    }

    /// Loads a checkpoint directory (any kind in `PolicyRegistry`), or the default agent (training and caching it
    /// first when absent).
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
            let m = try PolicyRegistry.load(from: url)
            agent.policy = m
            agent.source = spec == "default" ? "default (\(url.path))" : spec
            agent.turn = nil
            agent.counter = 0
            out("loaded \(spec): \(m.summary)" + (m.training["metrics"].map { "; \($0)" } ?? ""))
        } catch let e as AgentError {
            throw CommandError(e.description)
        }
    }

    /// Where `sft out=` saves, checked before anything is trained: the directory is created and a probe file
    /// written and removed there, and existing checkpoint files must be writable. `created` is the topmost
    /// directory made here (removed again when nothing is saved).
    func prepareCheckpointDirectory(_ spec: String) throws -> (url: URL, created: URL?) {
        let url = spec == "default" ? DefaultAgent.cache(home: config.home) : resolve(spec)
        let fm = FileManager.default
        var isDir: ObjCBool = false
        if fm.fileExists(atPath: url.path, isDirectory: &isDir), !isDir.boolValue {
            throw CommandError("out=\(spec): \(url.path) is a file, not a checkpoint directory; nothing trained")
        }
        var created: URL?
        var up = url
        while !fm.fileExists(atPath: up.path), up.pathComponents.count > 1 { created = up; up = up.deletingLastPathComponent() }
        do {
            try fm.createDirectory(at: url, withIntermediateDirectories: true)
            let probe = url.appendingPathComponent(".gtr-write-test-\(getpid())")
            try Data("gtr".utf8).write(to: probe)
            try fm.removeItem(at: probe)
        } catch {
            if let created { removeIfEmpty(created) }
            throw CommandError("out=\(spec): cannot write to \(url.path) (\(error.localizedDescription)); nothing trained")
        }
        for f in ["config.json", "model.safetensors"] {
            let p = url.appendingPathComponent(f).path
            if fm.fileExists(atPath: p), !fm.isWritableFile(atPath: p) {
                throw CommandError("out=\(spec): \(p) is not writable; nothing trained")
            }
        }
        return (url, created)
    }

    /// Removes a directory this shell created when it holds no files (only empty directories).
    func removeIfEmpty(_ dir: URL) {
        let fm = FileManager.default
        let files = fm.enumerator(atPath: dir.path)?.contains { item in
            var isDir: ObjCBool = false
            return fm.fileExists(atPath: dir.appendingPathComponent(item as! String).path, isDirectory: &isDir) && !isDir.boolValue
        } ?? true
        if !files { try? fm.removeItem(at: dir) }
    }

    /// `sft`: check `out=`, collect expert steps, train with a progress bar, print the loss curve and held-out
    /// metrics, save, and load an immutable snapshot of the trained model into the session. On Ctrl-C the
    /// half-trained model is loaded but nothing is saved (out= is left as it was) and the command fails.
    func runSFT(_ c: SFTConfig, out outDir: String?, command: String) throws {
        let target = try outDir.map { try prepareCheckpointDirectory($0) }
        let options = ExpertData.defaultOptions(c.env)
        let trainSeed = c.seed &* 1_000_000 &+ 1_000, heldSeed = c.seed &* 1_000_000 &+ 900_000
        out("collecting \(c.steps) expert steps of \(c.env) (hands from seed \(trainSeed)) and \(c.heldOut) held-out (from \(heldSeed))")
        let train = try ExpertData.collect(env: c.env, steps: c.steps, seed: trainSeed, options: options)
        let held = try ExpertData.collect(env: c.env, steps: c.heldOut, seed: heldSeed, options: options)
        let model = try SFT.makeModel(c, data: train)
        let sample = train.prefix(200), n = max(1, sample.count)
        let visual = train.first.map { model.inputTokenCount($0.input).visual } ?? 0
        let avgPrompt = sample.map { model.inputTokenCount($0.input).text }.reduce(0, +) / n
        let avgAnswer = sample.map { model.encode($0.answer.text).count + 1 }.reduce(0, +) / n
        out("model: \(model.parameterCount) parameters; tokenizer \(model.vocabularySize) ids; a step is \(visual) visual + ~\(avgPrompt) prompt + ~\(avgAnswer) answer tokens")
        var bar = progressBar(total: ((train.count + c.batch - 1) / c.batch) * c.epochs, label: "sft")
        var recent: [Float] = []
        let result = try SFT.train(model, train: train, heldOut: held, config: c, progress: { p in
            recent.append(p.loss)
            if recent.count > 20 { recent.removeFirst() }
            let avg = recent.reduce(0, +) / Float(recent.count)
            bar.update(p.step, String(format: "loss %.3f lr %.1e %.0f samples/s", avg, p.learningRate, p.samplesPerSecond))
            agent.onTrainingStep?(p.step)
        }, shouldStop: { Interrupt.pending })
        Interrupt.clear()
        let l = result.losses
        let finalLoss = l.suffix(20).reduce(0, +) / Float(max(1, min(20, l.count)))
        out("loss curve: \(sparkline(l))  \(String(format: "%.3f", l.first ?? 0)) → \(String(format: "%.3f", finalLoss)) over \(l.count) steps")
        out(String(format: "trained in %.1f s (%.1f samples/s)", result.seconds, result.samplesPerSecond))
        model.training = [
            "command": command, "env": c.env, "steps": String(c.steps), "epochs": String(c.epochs),
            "final_loss": String(format: "%.4f", finalLoss), "gtr_commit": BuildInfo.gitCommit ?? "unknown",
        ]
        if result.stopped {
            // Ctrl-C: never overwrite out= (with out=default that would replace the default agent) with a
            // half-trained model; keep it loaded so `model save DIR` can still keep it.
            let done = "\(l.count) of \(result.totalSteps) optimizer steps"
            model.training["interrupted"] = "after " + done
            useTrained(model, source: "sft (interrupted, not saved)")
            if let created = target?.created { removeIfEmpty(created) }
            throw CommandError("interrupted after \(done): the half-trained model is loaded but not saved"
                               + (outDir.map { " (out=\($0) left as it was)" } ?? "") + "; model save DIR keeps it")
        }
        out("held-out: " + result.metrics.summary)
        model.training["metrics"] = result.metrics.summary
        guard let target, let outDir else { useTrained(model, source: "sft (not saved)"); return }
        do { try model.save(to: target.url) } catch {
            useTrained(model, source: "sft (not saved)")
            throw CommandError("cannot save to \(target.url.path): \(error); the trained model is loaded (model save DIR keeps it)")
        }
        let size = (try? FileManager.default.attributesOfItem(atPath: target.url.appendingPathComponent("model.safetensors").path)[.size] as? Int) ?? 0
        out("saved \(target.url.path) (\(String(format: "%.1f", Double(size) / 1e6)) MB)")
        useTrained(model, source: outDir)
    }

    /// Makes an immutable snapshot of a trained model the session's policy.
    func useTrained(_ model: TrainablePolicy, source: String) {
        agent.policy = model.snapshot()
        agent.source = source
        agent.turn = nil
    }
}
