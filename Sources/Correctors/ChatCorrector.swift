import Environments
import Foundation
import Support

/// Settings of a chat corrector. Defaults follow GTR (§5.2: JSON replies, 400 tokens, the solver tool) except the
/// temperature: 0 instead of GTR's 0.4, so labels are reproducible (bug 16); `temperature=0.4` restores it.
public struct ChatConfig: Sendable, Equatable {
    /// e.g. `http://127.0.0.1:8000/v1` (vLLM, llama.cpp, Ollama) or `https://api.openai.com/v1`; the path
    /// `/chat/completions` is appended unless already there.
    public var baseURL: String
    public var model: String
    /// Name of the environment variable holding the API key (the key itself is never stored or logged).
    public var keyEnv: String?
    public var temperature = 0.0
    public var maxTokens = 400
    public var connectTimeout = 10.0
    public var totalTimeout = 60.0
    /// Retries after transport errors, HTTP 5xx, 408 and 429.
    public var maxRetries = 4
    /// Extra attempts after a reply that is not the requested JSON; then the step gets no correction.
    public var malformedRetries = 2
    public var backoffBase = 0.5
    public var backoffCap = 15.0
    /// The longest Retry-After honoured (longer ones count as a failure).
    public var maxRetryAfter = 120.0
    /// Requests per minute across all threads using this corrector (nil = unlimited).
    public var requestsPerMinute: Double?
    /// US$ per million prompt / completion tokens, for the cost estimate (defaults: gpt-4o list prices).
    public var pricePerMillionIn = 2.5
    public var pricePerMillionOut = 10.0
    /// Offer the solver tool for Points24 while the target is NOT DETERMINED.
    public var tools = true
    /// Whether the frame goes to the endpoint as an image part. `auto` sends it and, if the endpoint refuses a
    /// list-of-parts user turn (HTTP 400, 415, 422 or 500), asks again with a plain-string user turn that
    /// describes the frame in text, and remembers that for the endpoint and model (`ChatCorrector.textOnly`).
    /// `off` always sends plain text (text-only chat templates, llama.cpp's chatml), `on` always the image.
    public enum Images: String, Sendable, CaseIterable { case auto, on, off }
    public var images = Images.auto

    public init(baseURL: String, model: String, keyEnv: String? = nil) { self.baseURL = baseURL; self.model = model; self.keyEnv = keyEnv }

    public var endpoint: String {
        var b = baseURL
        while b.hasSuffix("/") { b.removeLast() }
        return b.hasSuffix("/chat/completions") ? b : b + "/chat/completions"
    }
}

/// A corrector behind any OpenAI-compatible chat-completions endpoint, over libcurl. It sends GTR's corrector
/// prompt with the frame as a base64 PNG data URL and `response_format` JSON; for Points24 it offers the exact
/// solver as the tool `find_all_correct_formulas` and completes the tool-call round trip. Transport errors,
/// 5xx and 429 are retried with capped exponential backoff and full jitter (Retry-After honoured); replies that
/// are not the requested JSON are retried a bounded number of times and then recorded as "no correction".
/// Failures never throw: they come back as `verdict == .none` with a one-line `failure`, the key redacted.
public final class ChatCorrector: Corrector, @unchecked Sendable {
    public let name: String
    public let config: ChatConfig
    public let cacheable = true
    /// Sleeps between attempts; tests replace it to observe the waits without spending them.
    public var sleep: @Sendable (Double) -> Void = { Thread.sleep(forTimeInterval: $0) }
    /// Polled during transfers and waits (Ctrl-C in the shell).
    public var cancel: (@Sendable () -> Bool)?
    private let limiter: RateLimiter?

    public init(name: String = "chat", config: ChatConfig) throws {
        guard let u = URL(string: config.endpoint), let s = u.scheme, ["http", "https"].contains(s), u.host != nil else {
            throw CorrectorError.badConfig("url=\(config.baseURL): expected http(s)://host[:port]/path")
        }
        guard !config.model.isEmpty else { throw CorrectorError.badConfig("model= is required (e.g. model=gpt-4o)") }
        if let k = config.keyEnv {
            guard let v = ProcessInfo.processInfo.environment[k], !v.isEmpty else {
                throw CorrectorError.badConfig("key_env=\(k): the environment variable \(k) is not set")
            }
        }
        self.name = name
        self.config = config
        limiter = config.requestsPerMinute.map { RateLimiter(perMinute: $0) }
    }

    public var identity: String {
        "chat|\(config.endpoint)|\(config.model)|t=\(config.temperature)|max=\(config.maxTokens)|tools=\(config.tools)"
    }

    /// Endpoints (endpoint|model) found to refuse image parts, for this process.
    nonisolated(unsafe) static var textOnlyEndpoints = Set<String>()
    static let textOnlyLock = NSLock()
    /// Whether this corrector sends text only (configured, or found out by `auto`).
    public var textOnly: Bool {
        switch config.images {
        case .on: return false
        case .off: return true
        case .auto: Self.textOnlyLock.lock(); defer { Self.textOnlyLock.unlock() }; return Self.textOnlyEndpoints.contains(config.endpoint + "|" + config.model)
        }
    }

    var apiKey: String? { config.keyEnv.flatMap { ProcessInfo.processInfo.environment[$0] }.flatMap { $0.isEmpty ? nil : $0 } }

    /// Removes the API key from any text that may reach output, logs or the database.
    public func redact(_ s: String) -> String {
        guard let k = apiKey, k.count >= 4 else { return s }
        return s.replacingOccurrences(of: k, with: "[redacted]")
    }

    public func correct(_ r: CorrectionRequest) throws -> CorrectorReply {
        let t0 = DispatchTime.now().uptimeNanoseconds
        let prompt = CorrectorPrompt.make(for: r)
        var reply = CorrectorReply(corrector: name)
        reply.prompt = prompt.fullText
        reply.attempts = 0
        let image = "data:image/png;base64," + Data(PNG.encode(r.image)).base64EncodedString()
        let system = JSONValue.object([("role", .string("system")), ("content", .string(prompt.system))])
        let withImage: [JSONValue] = [system, .object([("role", .string("user")), ("content", .array([
            .object([("type", .string("text")), ("text", .string(prompt.user))]),
            .object([("type", .string("image_url")), ("image_url", .object([("url", .string(image))]))]),
        ]))])]
        // Text only: a plain-string user turn (accepted by every chat template) with the frame described in words.
        let textOnlyMessages: [JSONValue] = [system, .object([("role", .string("user")), ("content", .string(
            prompt.user + "\n\n(The image is not attached. It shows: " + r.env.textObservation + ")"))])]
        var messages = textOnly ? textOnlyMessages : withImage
        var malformedLeft = config.malformedRetries
        var maxTokens = config.maxTokens
        while true {
            var content: String?
            do {
                var msgs = messages
                let first: JSONValue
                do {
                    first = try send(msgs, tools: prompt.offersTool && config.tools, maxTokens: maxTokens, reply: &reply)
                } catch let f as ChatFailure where f.refusesImages && config.images == .auto && !textOnly {
                    // The endpoint refused the image parts: once more in text, and from now on for this endpoint.
                    Self.textOnlyLock.lock(); Self.textOnlyEndpoints.insert(config.endpoint + "|" + config.model); Self.textOnlyLock.unlock()
                    reply.notes.append("images=auto: \(config.endpoint) refused an image part (\(f.message)); the frame goes as text from now on")
                    messages = textOnlyMessages
                    continue
                }
                content = first["content"]?.stringValue
                if case let .array(calls)? = first["tool_calls"], !calls.isEmpty {
                    // The assistant turn sent back as servers accept it: string content (null is refused by some),
                    // the tool calls, and no legacy `function_call`.
                    msgs.append(.object([("role", .string("assistant")), ("content", .string(first["content"]?.stringValue ?? "")),
                                         ("tool_calls", .array(calls))]))
                    var cards: JSONValue?
                    for call in calls {
                        guard call["function"]?["name"]?.stringValue == CorrectorPrompt.toolName, let id = call["id"]?.stringValue,
                              let argText = call["function"]?["arguments"]?.stringValue, let args = try? JSONParser.parse(argText) else {
                            throw MalformedReply("a tool call is not a well-formed \(CorrectorPrompt.toolName) call")
                        }
                        if let c = cards, c != args { throw MalformedReply("parallel tool calls name different cards") }
                        cards = args
                        msgs.append(.object([("role", .string("tool")), ("tool_call_id", .string(id)),
                                             ("content", .string(CorrectorPrompt.runTool(arguments: args)))]))
                    }
                    content = try send(msgs, tools: false, maxTokens: maxTokens, reply: &reply)["content"]?.stringValue
                }
                reply.rawReply = redact(content ?? "")
                try prompt.parseReply(content ?? "", into: &reply, env: r.env, agentAction: r.agentAction)
                redactFields(&reply)
                break
            } catch let m as MalformedReply {
                let tries = config.malformedRetries - malformedLeft + 1
                guard malformedLeft > 0 else {
                    reply.verdict = .none; reply.correction = nil
                    reply.failure = oneLine(redact("no correction: malformed reply after \(tries) tries (\(m.reason))"))
                    break
                }
                malformedLeft -= 1
                // Never the identical request again (at temperature 0 it gets the identical reply): a reply cut
                // at max_tokens gets twice the tokens; any other gets its reply back with what was wrong with it.
                if m.truncated {
                    maxTokens *= 2
                    reply.notes.append("retry \(tries): the reply was cut at max_tokens; asking again with max_tokens \(maxTokens)")
                } else if let c = content, !c.isEmpty {
                    messages += [.object([("role", .string("assistant")), ("content", .string(c))]),
                                 .object([("role", .string("user")), ("content", .string(
                                    "That reply could not be used: \(m.reason). Answer again with only the JSON object, in the format asked for."))])]
                    reply.notes.append("retry \(tries): \(m.reason); the reply is sent back with what was wrong")
                } else {
                    // No model text to answer (an empty or non-JSON HTTP body, a proxy's error page): the request
                    // was not answered, so the same request again is the right retry.
                    reply.notes.append("retry \(tries): \(m.reason)")
                }
                continue
            } catch let f as ChatFailure {
                reply.verdict = .none; reply.correction = nil
                reply.failure = oneLine(redact("no correction: " + f.message))
                break
            }
        }
        reply.cost = (Double(reply.promptTokens) * config.pricePerMillionIn + Double(reply.completionTokens) * config.pricePerMillionOut) / 1e6
        reply.latency = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        return reply
    }

    struct ChatFailure: Error {
        let message: String
        var status = 0
        /// A refusal that a list-of-parts user turn can cause (what `images=auto` falls back on).
        var refusesImages: Bool { [400, 415, 422, 500].contains(status) }
    }

    /// The key removed from every field a reply fills (answers, the corrected thought), not only the raw reply.
    func redactFields(_ reply: inout CorrectorReply) {
        reply.answers = reply.answers.map(redact)
        if let c = reply.correction, let k = apiKey, k.count >= 4, c.serialized().contains(k) {
            reply.correction = (try? JSONParser.parse(redact(c.serialized()))) ?? nil
        }
        if let t = reply.targetFormula { reply.targetFormula = redact(t) }
    }

    /// Text that reaches a terminal or a log line: one line, at most 300 characters.
    func oneLine(_ s: String) -> String {
        String(s.split(whereSeparator: \.isNewline).joined(separator: " ").prefix(300))
    }

    /// One chat-completions call with transport-level retries; returns `choices[0].message`.
    func send(_ messages: [JSONValue], tools: Bool, maxTokens: Int, reply: inout CorrectorReply) throws -> JSONValue {
        var body: [(String, JSONValue)] = [
            ("model", .string(config.model)), ("messages", .array(messages)),
            ("temperature", .number(config.temperature)), ("max_tokens", .number(Double(maxTokens))),
            ("response_format", .object([("type", .string("json_object"))])),
        ]
        if tools {
            body.append(("tools", .array([CorrectorPrompt.toolDefinition])))
            body.append(("parallel_tool_calls", .bool(false)))
        }
        let bytes = Array(JSONValue.object(body).serialized().utf8)
        var headers = ["Content-Type: application/json", "Accept: application/json"]
        if let k = apiKey { headers.append("Authorization: Bearer \(k)") }
        var attempt = 0
        while true {
            try waitForSlot()
            attempt += 1
            reply.attempts += 1
            let delay = backoff(attempt)
            let resp: HTTPResponse
            do {
                resp = try HTTPClient.post(url: config.endpoint, headers: headers, body: bytes, connectTimeout: config.connectTimeout,
                                           totalTimeout: config.totalTimeout, cancel: cancel)
            } catch let e as HTTPError {
                if e == .cancelled { throw CorrectorError.cancelled }
                if case .bodyTooLarge = e { throw MalformedReply(e.description) }
                guard attempt <= config.maxRetries else { throw ChatFailure(message: "\(e) after \(attempt) attempt(s)") }
                try pause(delay)
                continue
            }
            switch resp.status {
            case 200..<300:
                let v: JSONValue
                do { v = try JSONParser.parse(resp.text) } catch {
                    throw MalformedReply(resp.body.isEmpty ? "empty HTTP body" : "HTTP body is not JSON (\(resp.body.count) bytes)")
                }
                if let u = v["usage"] {
                    reply.promptTokens += Int(u["prompt_tokens"]?.numberValue ?? 0)
                    reply.completionTokens += Int(u["completion_tokens"]?.numberValue ?? 0)
                }
                guard case let .array(choices)? = v["choices"], let msg = choices.first?["message"], case .object = msg else {
                    throw MalformedReply("no choices[0].message in the reply")
                }
                if choices.first?["finish_reason"]?.stringValue == "length", msg["tool_calls"] == nil {
                    throw MalformedReply("the reply was cut at max_tokens \(maxTokens) (finish_reason length)", truncated: true)
                }
                return msg
            case 429, 408, 500, 502...599:
                guard attempt <= config.maxRetries, !(resp.status == 500 && config.images == .auto && !textOnly && attempt == 1 && messagesHaveImage(messages)) else {
                    throw ChatFailure(message: "HTTP \(resp.status) after \(attempt) attempt(s)" + errorDetail(resp), status: resp.status)
                }
                var wait = delay
                if resp.status == 429, let ra = resp.headers["retry-after"], let s = Self.retryAfterSeconds(ra) {
                    guard s <= config.maxRetryAfter else {
                        throw ChatFailure(message: "HTTP 429 with Retry-After \(Int(s)) s, beyond the \(Int(config.maxRetryAfter)) s limit")
                    }
                    wait = s
                }
                try pause(wait)
            default:  // 4xx and 501: retrying cannot help
                throw ChatFailure(message: "HTTP \(resp.status)" + errorDetail(resp), status: resp.status)
            }
        }
    }

    /// The server's own words for an error, on one line: OpenAI's `error.message`, FastAPI's `detail` (llama.cpp's
    /// server, vLLM), or the body's first line of text.
    func errorDetail(_ r: HTTPResponse) -> String {
        var m: String?
        if let v = try? JSONParser.parse(r.text) {
            m = v["error"]?["message"]?.stringValue ?? v["error"]?.stringValue ?? v["detail"]?.stringValue
                ?? v["message"]?.stringValue ?? v["detail"].map { $0.serialized() }
        } else if !r.text.isEmpty {
            m = r.text
        }
        guard let m else { return "" }
        return ": " + oneLine(redact(m)).prefix(200)
    }

    func messagesHaveImage(_ messages: [JSONValue]) -> Bool {
        messages.contains { if case .array? = $0["content"] { return true }; return false }
    }

    /// Full jitter over a capped exponential: uniform in [d/2, d], d = min(cap, base·2^(attempt-1)).
    func backoff(_ attempt: Int) -> Double {
        let d = min(config.backoffCap, config.backoffBase * pow(2, Double(attempt - 1)))
        return d * Double.random(in: 0.5...1)
    }

    func pause(_ seconds: Double) throws {
        if cancel?() == true { throw CorrectorError.cancelled }
        sleep(seconds)
        if cancel?() == true { throw CorrectorError.cancelled }
    }

    func waitForSlot() throws {
        guard let limiter else { return }
        let w = limiter.reserve()
        if w > 0 { try pause(w) }
    }

    /// Retry-After as delta-seconds or an HTTP date.
    static func retryAfterSeconds(_ v: String) -> Double? {
        if let s = Double(v.trimmingCharacters(in: .whitespaces)), s >= 0 { return s }
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "GMT")
        f.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        return f.date(from: v).map { max(0, $0.timeIntervalSinceNow) }
    }
}

/// Spaces request starts at least 60/rpm seconds apart, across threads.
final class RateLimiter: @unchecked Sendable {
    let interval: Double
    private var next = 0.0
    private let lock = NSLock()
    init(perMinute: Double) { interval = 60 / max(perMinute, 1e-9) }

    /// Reserves the next slot; returns how long to wait for it.
    func reserve() -> Double {
        lock.lock(); defer { lock.unlock() }
        let now = Double(DispatchTime.now().uptimeNanoseconds) / 1e9
        let slot = max(now, next)
        next = slot + interval
        return slot - now
    }
}
