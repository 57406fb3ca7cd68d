import Correctors
import Environments
import Episodes
import Foundation
import SessionLog
import Support

/// One environment session of the server (a WebSocket connection, or an HTTP session id): the current episode,
/// the episode's GTR target formula, the expert's phrasing stream, the rate limiter and the session's log.
/// Requests are handled one at a time (a lock), whatever the transport.
public final class ServedSession: @unchecked Sendable {
    public let id: String
    public let client: String
    private let lock = NSLock()
    private var episode: EpisodeSession?
    private var episodeCount = 0
    private var frames = true
    private var target = TargetFormula()
    private var limiter: RateLimiter
    private var expertRNG: SeededRNG
    private let oracle = OracleCorrector()
    private let log: ServedLog?
    private var lastActivity = ProcessInfo.processInfo.systemUptime
    private var closed = false
    /// Called when the server closes the session itself (idle timeout, shutdown): a WebSocket closes its socket.
    var onServerClose: (@Sendable (String) -> Void)?

    init(id: String, client: String, peer: String, transport: String, config: ServeConfig, seed: UInt64) {
        self.id = id
        self.client = client
        limiter = RateLimiter(rate: config.rate)
        expertRNG = SeededRNG(seed: seed)
        log = config.log ? ServedLog(path: config.databasePath, client: client, peer: peer, transport: transport) : nil
    }

    /// The gtr session id of this session's log (0 when logging is off).
    public var logSessionID: Int64 { log?.sessionID ?? 0 }

    /// Seconds since the last request.
    var idleSeconds: Double {
        lock.lock(); defer { lock.unlock() }
        return ProcessInfo.processInfo.systemUptime - lastActivity
    }

    var isClosed: Bool { lock.lock(); defer { lock.unlock() }; return closed }

    /// Ends the session: an open episode is logged as abandoned and the log is closed. Idempotent.
    func close() {
        lock.lock(); defer { lock.unlock() }
        guard !closed else { return }
        closed = true
        episode?.abandon()
        log?.close()
    }

    /// The reply to one request. `type` is OpenEnv's message type (or gtr's `correct` / `expert`).
    func handle(type: String, data: JSONValue?) throws(ServeError) -> (type: String, data: JSONValue) {
        lock.lock(); defer { lock.unlock() }
        guard !closed else { throw ServeError(.session, "session \(id) is closed") }
        lastActivity = ProcessInfo.processInfo.systemUptime
        guard limiter.allow() else {
            throw ServeError(.rateLimited, "more than \(Int(limiter.rate)) requests per second in session \(id): slow down")
        }
        switch type {
        case "reset": return ("observation", try reset(ResetRequest.parse(data)))
        case "step": return ("observation", try step(data))
        case "state": return ("state", state())
        case "correct": return ("correction", try correct(data))
        case "expert": return ("expert", try expert())
        default:
            throw ServeError(.unknownType, "unknown message type '\(type.prefix(40))' (types: reset, step, state, correct, expert, close)")
        }
    }

    // MARK: reset

    private func reset(_ r: ResetRequest) throws(ServeError) -> JSONValue {
        var options = r.options
        if let g = options["game"], !g.hasPrefix("/") {
            options["game"] = URL(fileURLWithPath: g, relativeTo: URL(fileURLWithPath: FileManager.default.currentDirectoryPath)).standardizedFileURL.path
        }
        let env: Environment
        let text: String
        // The REPL's semantics, so that the log replays: the same env is reset in place (its stream continues when
        // no seed is given) and keeps the episode's options but the cards; another env is opened afresh.
        if let ep = episode, r.env == nil || r.env == ep.env.name {
            env = ep.env
            var merged = ep.options.filter { $0.key != "cards" }
            for (k, v) in options { merged[k] = v }
            text = "reset" + ResetRequest.commandText(seed: r.seed, options: options)
            options = merged
        } else {
            let name = r.env ?? "points24"
            do { env = try EnvironmentRegistry.make(name) } catch { throw ServeError(.validation, "\(error)") }
            text = "env \(env.name)" + ResetRequest.commandText(seed: r.seed, options: options)
        }
        let next: EpisodeSession
        do {
            next = try logged(text, {
                let n = try EpisodeSession(env: env, number: episodeCount + 1, seed: r.seed, options: options, sink: nil)
                episode?.abandon()
                episodeCount += 1
                if let log {
                    n.sink = log
                    log.episodeBegan(n.number, env: env.name, seed: r.seed, options: n.optionsText)
                }
                return n
            }, output: { "\($0.env.name) episode \($0.number)" + (r.seed.map { " seed=\($0)" } ?? "") + ": " + $0.env.textObservation })
        } catch let e as ServeError { throw e } catch { throw ServeError(.validation, "\(error)") }
        episode = next
        target.reset()
        if let f = r.frames { frames = f }
        return observation(next, step: nil)
    }

    // MARK: step

    private func step(_ data: JSONValue?) throws(ServeError) -> JSONValue {
        guard let ep = episode else { throw ServeError(.session, "no episode yet: send reset first") }
        guard case let .object(pairs)? = data else {
            throw ServeError(.validation, "step data must be an object: {\"action\": \"10\"} or {\"text\": \"<model output>\"}")
        }
        let given = pairs.filter { ["action", "command", "text"].contains($0.0) }
        guard given.count == 1, let value = given[0].1.stringValue else {
            throw ServeError(.validation, "step takes exactly one of action, command (a string: an action token or household command) or text (a model's raw output)")
        }
        let input: EpisodeInput
        let text: String
        if given[0].0 == "text" {
            input = .modelOutput(value)
            text = "act text=" + CommandWord.quoted(value)
        } else {
            guard !value.trimmingCharacters(in: .whitespaces).isEmpty else { throw ServeError(.validation, "the action is empty") }
            input = .action(value)
            text = "act " + CommandWord.quoted(value)
            if !ep.isDone, !ep.env.actionsAreCommands, !ep.env.legalActions.contains(value) {
                throw ServeError(.validation, "'\(value.prefix(40))' is not an action of \(ep.env.name) (legal: \(ep.env.legalActions.joined(separator: " ")))")
            }
        }
        if ep.isDone {
            throw ServeError(.execution, "episode \(ep.number) is over (return \(ep.episodeReturn) in \(ep.stepCount) steps): reset to deal a new one")
        }
        do {
            let s = try logged(text, { try ep.apply(input, source: .script) }, output: { s in
                "t=\(s.t) \(s.action) → reward \(s.reward) | \(s.observation)" + (s.done ? " (done, return \(s.episodeReturn))" : "")
            })
            return observation(ep, step: s)
        } catch let e as ServeError { throw e } catch { throw ServeError(.execution, "\(error)") }
    }

    // MARK: state, corrector, expert

    private func state() -> JSONValue {
        guard let ep = episode else {
            return .object([("episode_id", .null), ("step_count", .number(0)), ("session_id", .string(id)), ("env", .null),
                            ("log_session", .number(Double(logSessionID)))])
        }
        return .object([
            ("episode_id", .string("\(id):\(ep.number)")), ("step_count", .number(Double(ep.stepCount))),
            ("session_id", .string(id)), ("env", .string(ep.env.name)), ("episode", .number(Double(ep.number))),
            ("seed", ep.seed.map { .number(Double($0)) } ?? .null), ("options", .object(ep.options.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })),
            ("done", .bool(ep.isDone)), ("episode_return", .number(ep.episodeReturn)),
            ("target_formula", target.formula.map { .string($0) } ?? .null),
            ("log_session", .number(Double(logSessionID))),
        ])
    }

    /// The oracle corrector on a thought for the current state (GTR §5): verdict, answers, the episode's target
    /// formula (kept across the episode, as GTR does) and the corrected thought.
    private func correct(_ data: JSONValue?) throws(ServeError) -> JSONValue {
        guard let ep = episode else { throw ServeError(.session, "no episode yet: send reset first") }
        guard let thought = data?["thought"]?.stringValue else {
            throw ServeError(.validation, "correct takes {\"thought\": \"<the agent's JSON output>\"}")
        }
        if ep.isDone { throw ServeError(.execution, "episode \(ep.number) is over: there is no state to judge a thought in") }
        do {
            let reply = try logged("correct text=" + CommandWord.quoted(thought), {
                let req = try CorrectionRequest.from(env: ep.env, output: thought, targetFormula: target.formula)
                var reply = try oracle.correct(req)
                reply.latency = 0
                log?.log.logCorrection(ledgerRow(req, reply, episode: ep.number, t: ep.stepCount), commandSeq: log?.commandSeq ?? 0)
                target.update(with: reply)
                return reply
            }, output: { "verdict: \($0.verdict.rawValue)" })
            return .object([
                ("verdict", .string(reply.verdict.rawValue)),
                ("answers", .array(reply.answers.map { .string($0) })),
                ("possible_solution", reply.possibleSolution.map { .bool($0) } ?? .null),
                ("target_formula", target.formula.map { .string($0) } ?? .null),
                ("corrected_thought", reply.correction ?? .null),
                ("unsolvable", .bool(target.unsolvable)),
                ("notes", .array(reply.notes.map { .string($0) })),
            ])
        } catch let e as ServeError { throw e } catch let e as CorrectorError {
            throw ServeError(.validation, "\(e)")
        } catch { throw ServeError(.execution, "\(error)") }
    }

    private func ledgerRow(_ req: CorrectionRequest, _ reply: CorrectorReply, episode: Int, t: Int) -> CorrectionRecord {
        CorrectionRecord(
            episode: episode, t: t, env: req.env.name, corrector: "oracle", identity: oracle.identity,
            requestHash: oracle.requestHash(req), imageHash: req.imageHash, prompt: reply.prompt, thought: req.thoughtText,
            reply: reply.rawReply, verdict: reply.verdict.rawValue, possibleSolution: reply.possibleSolution,
            targetFormula: reply.targetFormula, answers: JSONValue.array(reply.answers.map { .string($0) }).serialized(),
            correctedThought: reply.correction?.serialized(), failure: reply.failure, latency: 0, promptTokens: 0,
            completionTokens: 0, cost: 0, attempts: reply.attempts, cached: false)
    }

    /// The expert's next action and thought (privileged: it reads the true state), as GTR's SFT data writes them.
    private func expert() throws(ServeError) -> JSONValue {
        guard let ep = episode else { throw ServeError(.session, "no episode yet: send reset first") }
        if ep.isDone { throw ServeError(.execution, "episode \(ep.number) is over: reset to deal a new one") }
        do {
            let formula = target.formula.flatMap { FormulaEvaluator.tokenize(FormulaText.normalize($0)) }
            let a = try Expert.answer(ep.env, rng: &expertRNG, targetFormula: formula)
            let thought = (try? JSONParser.parse(a.text)).flatMap { v -> JSONValue? in
                guard case let .object(p) = v else { return nil }
                return .object(p.filter { $0.0 != "action" })
            } ?? .string(a.thought)
            return .object([("action", .string(a.action)), ("thought", thought), ("output", .string(a.text))])
        } catch { throw ServeError(.execution, "\(error)") }
    }

    // MARK: replies

    private func logged<T>(_ text: String, _ body: () throws -> T, output: (T) -> String) throws -> T {
        guard let log else { return try body() }
        return try log.command(text, body, output: output)
    }

    /// OpenEnv's observation reply: `observation` (everything a GTR agent and trainer need), `reward` (null after
    /// reset), `done` and `metadata`.
    private func observation(_ ep: EpisodeSession, step s: EpisodeStep?) -> JSONValue {
        let e = ep.env
        var frame = JSONValue.null
        if frames, e.observationMode == .image { frame = .string(Data(PNG.encodeFast(e.frame)).base64EncodedString()) }
        let obs: JSONValue = .object([
            ("env", .string(e.name)), ("session_id", .string(id)), ("episode", .number(Double(ep.number))),
            ("t", .number(Double(e.stepCount))), ("prompt", .string(e.prompt(thoughts: true))), ("text", .string(e.textObservation)),
            ("frame", frame), ("observation_mode", .string(e.observationMode.rawValue)),
            ("legal_actions", .array(e.isDone ? [] : e.legalActions.map { .string($0) })),
            ("info", e.info), ("reward", .number(s?.reward ?? 0)), ("done", .bool(e.isDone)),
            ("episode_return", .number(ep.episodeReturn)), ("action", s.map { .string($0.action) } ?? .null),
            ("invalid", .bool(s?.invalid ?? false)), ("terminated", .bool(s?.terminated ?? false)),
            ("truncated", .bool(s?.truncated ?? false)),
            ("parsed", s?.parsed.map { p in .array(p.keywords.map { .string($0) }) } ?? .null),
        ])
        let meta: JSONValue = .object([
            ("session_id", .string(id)), ("episode", .number(Double(ep.number))), ("t", .number(Double(e.stepCount))),
            ("seed", ep.seed.map { .number(Double($0)) } ?? .null),
            ("options", .object(ep.options.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })),
            ("log_session", .number(Double(logSessionID))),
        ])
        return .object([("observation", obs), ("reward", s.map { .number($0.reward) } ?? .null), ("done", .bool(e.isDone)),
                        ("metadata", meta)])
    }
}
