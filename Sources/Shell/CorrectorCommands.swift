import Correctors
import Environments
import Foundation
import SessionLog
import Support

/// The shell's correctors: those configured by name, the active one, per-corrector counters, the episode's
/// target formula (GTR §5.4) and the last answer (for `correct apply`).
final class CorrectorSession {
    var correctors: [String: Corrector] = ["oracle": OracleCorrector()]
    var active = "oracle"
    var stats: [String: CorrectorStats] = [:]
    var target = TargetFormula()
    /// Answers of this shell by request hash (the database serves earlier sessions).
    var memory: [String: CorrectorReply] = [:]
    /// The last `correct` answer and the generation it judged.
    var last: (generation: UInt64, reply: CorrectorReply)?
    /// During a replay each command's corrections are answered from that command's logged rows, in order (the
    /// human corrector's answers and failed calls included), so nothing is asked or paid for again.
    var replaying = false
    var replayRows: [Int: [CorrectionRecord]] = [:]
}

/// What `corrector stats` shows for one corrector.
struct CorrectorStats {
    var requests = 0
    var cacheHits = 0
    var failures = 0
    var latency = 0.0
    var promptTokens = 0
    var completionTokens = 0
    var cost = 0.0
    var yes = 0
    var no = 0
}

extension Shell {
    static let correctorCommands: [CommandSpec] = [
        CommandSpec(name: "corrector", group: "corrector",
                    summary: "choose the corrector that judges thoughts; stats: calls, cache hits, failures, latency, tokens, cost",
                    example: "corrector use chat url=http://127.0.0.1:8000/v1 model=gpt-4o key_env=OPENAI_API_KEY",
                    positionals: [.optional("list|use|stats", ["list", "use", "stats"]), .optional("NAME")],
                    options: [OptionSpec("url", .text, "chat: the OpenAI-compatible base URL"), OptionSpec("model", .text, "chat: the model name"),
                              OptionSpec("key_env", .text, "chat: the variable holding the API key"), OptionSpec("name", .text, default: "chat"),
                              OptionSpec("temperature", .number(0...2)), OptionSpec("max_tokens", .int(1...100_000)),
                              OptionSpec("timeout", .number(0.1...3600), "seconds"), OptionSpec("connect_timeout", .number(0.1...600), "seconds"),
                              OptionSpec("retries", .int(0...20)), OptionSpec("malformed_retries", .int(0...10)),
                              OptionSpec("rpm", .number(0.01...1_000_000), "requests per minute"), OptionSpec("price_in", .number(0...1000), "$ per million"),
                              OptionSpec("price_out", .number(0...1000), "$ per million"), OptionSpec("tools", .choice(["on", "off"])),
                              OptionSpec("images", .choice(ChatConfig.Images.allCases.map(\.rawValue)), default: "auto",
                                         "send the frame as an image part (on), as text (off), or find out (auto)")],
                    usageOverride: "corrector [list] | corrector use oracle|human|NAME | corrector use chat url=URL model=M [key_env=VAR] [name=N] [options] | corrector stats",
                    volatile: true) { sh, a in
            try sh.correctorCommand(a)
        },
        CommandSpec(name: "correct", group: "corrector",
                    summary: "judge the last thought: GTR answers, verdict, target formula and a word diff to the correction",
                    example: "correct", positionals: [.optional("apply|compare", ["apply", "compare"]), .optional("A"), .optional("B")],
                    options: [OptionSpec("text", .text, "judge this output (a JSON thought) in the current state instead of the last thought")],
                    usageOverride: "correct | correct text=\"OUTPUT\" | correct apply | correct compare A B") { sh, a in
            if let text = a.options["text"] {
                guard a.positional.isEmpty else { throw CommandError("usage: correct text=\"OUTPUT\"") }
                try sh.correctGivenThought(text)
                return
            }
            switch a.positional.first {
            case nil: try sh.correctLastThought()
            case "apply":
                guard a.positional.count == 1 else { throw CommandError("usage: correct apply") }
                try sh.applyCorrection()
            default:
                guard a.positional.count == 3 else { throw CommandError("usage: correct compare A B (corrector names, e.g. oracle chat)") }
                try sh.compareCorrectors(a.positional[1], a.positional[2])
            }
        },
    ]

    // MARK: corrector

    func correctorCommand(_ a: Arguments) throws {
        let cs = correctorSession
        switch a.positional.first {
        case nil, "list":
            guard a.positional.count <= 1, a.options.isEmpty else { throw CommandError("usage: corrector list") }
            for name in cs.correctors.keys.sorted() {
                let c = cs.correctors[name]!
                out((name == cs.active ? "* " : "  ") + name + "  " + config.style.dim(c.identity))
            }
        case "use":
            guard a.positional.count == 2 else { throw CommandError("usage: corrector use oracle|human|chat url=... model=... [key_env=VAR]") }
            let kind = a.positional[1]
            if kind != "chat", let k = a.optionOrder.first { throw CommandError("\(k)= configures a chat corrector: corrector use chat url=… model=… \(k)=…") }
            switch kind {
            case "oracle": cs.active = "oracle"
            case "human":
                cs.correctors["human"] = makeHumanCorrector()
                cs.active = "human"
            case "chat":
                guard let url = a.options["url"], let model = a.options["model"] else {
                    throw CommandError("corrector use chat needs url=... and model=... (key_env=VAR names the API key's variable)")
                }
                var c = ChatConfig(baseURL: url, model: model, keyEnv: a.options["key_env"])
                if let v = a.double("temperature") { c.temperature = v }
                if let v = a.int("max_tokens") { c.maxTokens = v }
                if let v = a.double("timeout") { c.totalTimeout = v }
                if let v = a.double("connect_timeout") { c.connectTimeout = v }
                if let v = a.int("retries") { c.maxRetries = v }
                if let v = a.int("malformed_retries") { c.malformedRetries = v }
                if let v = a.double("rpm") { c.requestsPerMinute = v }
                if let v = a.double("price_in") { c.pricePerMillionIn = v }
                if let v = a.double("price_out") { c.pricePerMillionOut = v }
                if let v = a.string("tools") { c.tools = v == "on" }
                if let v = a.string("images").flatMap(ChatConfig.Images.init(rawValue:)) { c.images = v }
                let name = a.options["name"] ?? "chat"
                guard !["oracle", "human"].contains(name), name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) else {
                    throw CommandError("name=\(name): choose a word other than oracle or human")
                }
                let chat = try ChatCorrector(name: name, config: c)
                chat.cancel = { Interrupt.pending }
                cs.correctors[name] = chat
                cs.active = name
            default:
                if cs.correctors[kind] != nil { cs.active = kind } else {
                    throw CommandError("unknown corrector '\(kind)' (oracle, human, chat, or a configured name: \(cs.correctors.keys.sorted().joined(separator: ", ")))")
                }
            }
            out("corrector: \(cs.active)  " + config.style.dim(cs.correctors[cs.active]!.identity))
        case "stats":
            guard a.positional.count == 1, a.options.isEmpty else { throw CommandError("usage: corrector stats") }
            out("corrector   requests  cache hits  failures  YES  NO   mean latency  prompt tok  completion tok  est. cost")
            for name in cs.stats.keys.sorted() {
                let s = cs.stats[name]!
                let called = s.requests - s.cacheHits
                let lat = called > 0 ? s.latency / Double(called) : 0
                // The name is padded in Swift: `%-10@` does not pad on Linux's Foundation.
                out(name.padding(toLength: max(10, name.count), withPad: " ", startingAt: 0)
                    + String(format: "  %8d  %10d  %8d  %3d  %3d  %10.1f ms  %10d  %14d  $%.4f", s.requests, s.cacheHits, s.failures,
                             s.yes, s.no, lat * 1000, s.promptTokens, s.completionTokens, s.cost))
            }
            if cs.stats.isEmpty { out("(no corrections yet in this shell)") }
        case let x?: throw CommandError("unknown subcommand '\(x)' (use, stats, list)")
        }
    }

    func makeHumanCorrector() -> HumanCorrector {
        HumanCorrector(ask: { [weak self] q in
            guard let self else { return nil }
            // The answers are in the correction's own row (replay serves the row), so these lines are not logged twice.
            guard let src = self.lineSource else { return nil }
            return src.readLine(prompt: q)
        }, edit: { [weak self] text in
            guard let self else { return nil }
            if let editor = ProcessInfo.processInfo.environment["EDITOR"], !editor.isEmpty, self.config.interactive {
                return try? self.editInEditor(text, editor: editor)
            }
            guard let src = self.lineSource, let line = src.readLine(prompt: "corrected> ", initial: text) else { return nil }
            return line.isEmpty ? text : line
        }, report: { [weak self] m in self?.prompting(self?.config.style.yellow(m) ?? m) })
    }

    /// Part of a conversation with the user (questions, hints): shown, but not command output, so a replay,
    /// which asks nothing, still matches the log.
    func prompting(_ s: String) {
        if config.echo { FileHandle.standardOutput.write(Data((s + "\n").utf8)) }
    }

    // MARK: correct

    /// The request for the current turn: the thought as edited, if it was.
    func correctionRequest(target: String?) throws -> (AgentTurn, CorrectionRequest) {
        guard let turn = agent.turn else { throw CommandError("no thought yet: think or step first") }
        let text = turn.currentText
        return (turn, try CorrectionRequest.from(env: turn.env, output: text, targetFormula: target))
    }

    /// Runs one corrector with the cache and the ledger: identical requests are answered from this shell's
    /// answers or the database; every answer, cached or not, is a `corrections` row.
    func runCorrector(_ name: String, _ req: CorrectionRequest, episode: Int, t: Int) throws -> CorrectorReply {
        let cs = correctorSession
        guard let c = cs.correctors[name] ?? (name == "human" ? makeHumanCorrector() : nil) else {
            throw CommandError("unknown corrector '\(name)' (configured: \(cs.correctors.keys.sorted().joined(separator: ", ")))")
        }
        let hash = c.requestHash(req)
        var reply: CorrectorReply
        if cs.replaying {
            guard var rows = cs.replayRows[seq], !rows.isEmpty else { throw CorrectorError.cancelled }
            let row = rows.removeFirst()
            cs.replayRows[seq] = rows
            guard row.requestHash == hash, let logged = Shell.reply(from: row) else {
                throw CommandError("replay: the request to \(name) differs from the logged one")
            }
            reply = logged
        } else if c.cacheable, let hit = cs.memory[hash] ?? log?.cachedCorrection(requestHash: hash).flatMap(Shell.reply(from:)) {
            reply = hit
            reply.fromCache = true
        } else {
            do {
                reply = try withWaitLine("\(name): waiting for a verdict") { try c.correct(req) }
            } catch CorrectorError.cancelled where Interrupt.pending { Interrupt.clear(); throw ShellError.interrupted }
            // Retries and fallbacks are shown, not kept as command output (a replay answers from the ledger).
            for n in reply.notes { prompting(config.style.dim("note: " + n)) }
        }
        if reply.fromCache { reply.latency = 0; reply.promptTokens = 0; reply.completionTokens = 0; reply.cost = 0; reply.attempts = 0 }
        if reply.failure == nil { cs.memory[hash] = reply }
        var s = cs.stats[name] ?? CorrectorStats()
        s.requests += 1
        if reply.fromCache { s.cacheHits += 1 } else { s.latency += reply.latency }
        if reply.failure != nil { s.failures += 1 }
        if reply.verdict == .correct { s.yes += 1 } else if reply.verdict == .incorrect { s.no += 1 }
        s.promptTokens += reply.promptTokens; s.completionTokens += reply.completionTokens; s.cost += reply.cost
        cs.stats[name] = s
        log?.logCorrection(Shell.ledgerRow(req, reply, hash: hash, corrector: c, name: name, episode: episode, t: t), commandSeq: seq)
        return reply
    }

    /// The ledger row of one answer (cached or not), as `corrections` stores it; never an API key.
    static func ledgerRow(_ req: CorrectionRequest, _ reply: CorrectorReply, hash: String, corrector c: Corrector, name: String,
                          episode: Int, t: Int) -> CorrectionRecord {
        CorrectionRecord(
            episode: episode, t: t, env: req.env.name, corrector: name, identity: c.identity, requestHash: hash,
            imageHash: req.imageHash, prompt: reply.prompt, thought: req.thoughtText, reply: reply.rawReply, verdict: reply.verdict.rawValue,
            possibleSolution: reply.possibleSolution, targetFormula: reply.targetFormula,
            answers: JSONValue.array(reply.answers.map { .string($0) }).serialized(), correctedThought: reply.correction?.serialized(),
            failure: reply.failure, latency: reply.latency, promptTokens: reply.promptTokens, completionTokens: reply.completionTokens,
            cost: reply.cost, attempts: reply.attempts, cached: reply.fromCache)
    }

    static func reply(from r: CorrectionRecord) -> CorrectorReply? {
        var out = CorrectorReply(corrector: r.corrector)
        guard let v = Verdict(rawValue: r.verdict) else { return nil }
        out.verdict = v
        if case let .array(items)? = try? JSONParser.parse(r.answers) { out.answers = items.map { $0.stringValue ?? $0.serialized() } }
        out.possibleSolution = r.possibleSolution
        out.targetFormula = r.targetFormula
        out.correction = r.correctedThought.flatMap { try? JSONParser.parse($0) }
        out.prompt = r.prompt
        out.rawReply = r.reply
        out.failure = r.failure
        out.fromCache = true
        return out
    }

    /// `correct text=`: judges a given output (a thought typed, or a served client's) in the current state; the
    /// episode's target formula follows the verdict as for the agent's own thought.
    func correctGivenThought(_ text: String) throws {
        let ep = try requireEpisode()
        guard !ep.isDone else { throw EnvironmentError.episodeOver }
        let cs = correctorSession
        let req = try CorrectionRequest.from(env: ep.env, output: text, targetFormula: cs.target.formula)
        let reply = try runCorrector(cs.active, req, episode: ep.number, t: ep.stepCount)
        cs.target.update(with: reply)
        showReply(reply, request: req)
        if req.env.tracksTargetFormula { out("target formula: " + cs.target.display) }
    }

    func correctLastThought() throws {
        let cs = correctorSession
        let (turn, req) = try correctionRequest(target: cs.target.formula)
        let reply = try runCorrector(cs.active, req, episode: turn.episode, t: turn.t)
        let current = turn.episode == episode?.number
        if current { cs.target.update(with: reply) }
        cs.last = (turn.generationID, reply)
        showReply(reply, request: req)
        if current, req.env.tracksTargetFormula {
            var line = "target formula: " + cs.target.display
            if cs.target.unsolvable { line += config.style.yellow("  (deal judged unsolvable: GTR ends the episode here)") }
            out(line)
        }
        if reply.correction != nil { out(config.style.dim("correct apply adopts the correction as a thought edit")) }
    }

    func showReply(_ reply: CorrectorReply, request req: CorrectionRequest) {
        let st = config.style
        for (i, a) in reply.answers.enumerated() { out("\(i + 1). " + a) }
        let v: String
        switch reply.verdict {
        case .correct: v = st.green("YES (the thought is correct)")
        case .incorrect: v = st.red("NO (the thought is wrong)")
        case .none: v = st.yellow("no correction")
        }
        out("verdict: " + v + (reply.possibleSolution == false ? st.yellow("   possible_solution: NO") : ""))
        if let f = reply.failure { out(st.yellow(f)) }
        if let c = reply.correction {
            let (a, b) = (Shell.withoutAction(req.thought), Shell.withoutAction(c))
            out("diff:    " + (a == b ? "none: the correction keeps the thought (GTR keeps the agent's action too)" : wordDiff(a, b)))
        }
        let cost = reply.fromCache ? "cached, no cost" : String(format: "%.1f ms, %d+%d tokens, $%.4f, %d attempt(s)", reply.latency * 1000,
                                                                reply.promptTokens, reply.completionTokens, reply.cost, reply.attempts)
        out(st.dim("cost: \(reply.corrector), " + cost))
    }

    static func withoutAction(_ v: JSONValue) -> String {
        guard case let .object(pairs) = v else { return v.serialized() }
        return CorrectorReply.spaced(.object(pairs.filter { $0.0 != "action" }))
    }

    /// A word-level diff (longest common subsequence): removed words red and struck, added words green; without
    /// colour `[-old-]` and `{+new+}`.
    func wordDiff(_ a: String, _ b: String) -> String {
        let x = a.split(separator: " ").map(String.init), y = b.split(separator: " ").map(String.init)
        let n = x.count, m = y.count
        guard n * m <= 4_000_000 else { return "(too long to diff) " + b }
        var l = [[Int]](repeating: [Int](repeating: 0, count: m + 1), count: n + 1)
        for i in stride(from: n - 1, through: 0, by: -1) {
            for j in stride(from: m - 1, through: 0, by: -1) {
                l[i][j] = x[i] == y[j] ? l[i + 1][j + 1] + 1 : max(l[i + 1][j], l[i][j + 1])
            }
        }
        let color = config.style.color
        func del(_ w: String) -> String { color ? "\u{1B}[31;9m\(w)\u{1B}[0m" : "[-\(w)-]" }
        func ins(_ w: String) -> String { color ? "\u{1B}[32m\(w)\u{1B}[0m" : "{+\(w)+}" }
        var out: [String] = []
        var i = 0, j = 0
        while i < n || j < m {
            if i < n, j < m, x[i] == y[j] { out.append(x[i]); i += 1; j += 1 }
            else if i < n, j == m || l[i + 1][j] >= l[i][j + 1] { out.append(del(x[i])); i += 1 }
            else { out.append(ins(y[j])); j += 1 }
        }
        return out.joined(separator: " ")
    }

    func applyCorrection() throws {
        guard var turn = agent.turn else { throw CommandError("no thought yet: think or step first") }
        guard let last = correctorSession.last, last.generation == turn.generationID else {
            throw CommandError("no correction for this thought: run correct first")
        }
        guard let prefix = last.reply.correctionPrefix else {
            throw CommandError(last.reply.verdict == .correct ? "the corrector judged the thought correct: nothing to apply" : "the corrector gave no correction")
        }
        turn.editedThought = prefix
        agent.turn = turn
        try logEdit(turn)
    }

    func compareCorrectors(_ a: String, _ b: String) throws {
        let cs = correctorSession
        // Check both names before paying for either call.
        for n in [a, b] where cs.correctors[n] == nil && n != "human" {
            throw CommandError("unknown corrector '\(n)' (configured: \(cs.correctors.keys.sorted().joined(separator: ", ")))")
        }
        let (turn, req) = try correctionRequest(target: cs.target.formula)
        let ra = try runCorrector(a, req, episode: turn.episode, t: turn.t)
        let rb = try runCorrector(b, req, episode: turn.episode, t: turn.t)
        let st = config.style
        func mark(_ same: Bool) -> String { same ? st.green("agree") : st.red("DISAGREE") }
        out("           \(a) | \(b)")
        out("verdict:   \(ra.verdict.rawValue) | \(rb.verdict.rawValue)   " + mark(ra.verdict == rb.verdict))
        if ra.possibleSolution != nil || rb.possibleSolution != nil {
            func yn(_ v: Bool?) -> String { v.map { $0 ? "YES" : "NO" } ?? "-" }
            out("possible:  \(yn(ra.possibleSolution)) | \(yn(rb.possibleSolution))   " + mark(ra.possibleSolution == rb.possibleSolution))
            out("target:    \(ra.targetFormula ?? "-") | \(rb.targetFormula ?? "-")   " + mark(ra.targetFormula == rb.targetFormula))
        }
        for k in 0..<max(ra.answers.count, rb.answers.count) {
            out("answer \(k + 1) \(a): " + (k < ra.answers.count ? ra.answers[k] : "-"))
            out("answer \(k + 1) \(b): " + (k < rb.answers.count ? rb.answers[k] : "-"))
        }
        switch (ra.correction, rb.correction) {
        case let (x?, y?): out("corrections (\(a) → \(b)): " + (x == y ? st.green("identical") : wordDiff(Shell.withoutAction(x), Shell.withoutAction(y))))
        case let (x?, nil): out("only \(a) corrects: " + Shell.withoutAction(x))
        case let (nil, y?): out("only \(b) corrects: " + Shell.withoutAction(y))
        case (nil, nil): out("neither corrects the thought")
        }
        for r in [ra, rb] { if let f = r.failure { out(st.yellow("\(r.corrector): \(f)")) } }
    }
}
