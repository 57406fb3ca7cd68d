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
        let messages: [JSONValue] = [
            .object([("role", .string("system")), ("content", .string(prompt.system))]),
            .object([("role", .string("user")), ("content", .array([
                .object([("type", .string("text")), ("text", .string(prompt.user))]),
                .object([("type", .string("image_url")), ("image_url", .object([("url", .string(image))]))]),
            ]))]),
        ]
        var malformedLeft = config.malformedRetries
        while true {
            do {
                var msgs = messages
                let first = try send(msgs, tools: prompt.offersTool && config.tools, reply: &reply)
                var content = first["content"]?.stringValue
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
                    content = try send(msgs, tools: false, reply: &reply)["content"]?.stringValue
                }
                reply.rawReply = redact(content ?? "")
                try prompt.parseReply(content ?? "", into: &reply, env: r.env, agentAction: r.agentAction)
                break
            } catch let m as MalformedReply {
                if malformedLeft > 0 { malformedLeft -= 1; continue }
                reply.verdict = .none; reply.correction = nil
                reply.failure = redact("no correction: malformed reply after \(config.malformedRetries + 1) tries (\(m.reason))")
                break
            } catch let f as ChatFailure {
                reply.verdict = .none; reply.correction = nil
                reply.failure = redact("no correction: " + f.message)
                break
            }
        }
        reply.cost = (Double(reply.promptTokens) * config.pricePerMillionIn + Double(reply.completionTokens) * config.pricePerMillionOut) / 1e6
        reply.latency = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        return reply
    }

    struct ChatFailure: Error { let message: String }

    /// One chat-completions call with transport-level retries; returns `choices[0].message`.
    func send(_ messages: [JSONValue], tools: Bool, reply: inout CorrectorReply) throws -> JSONValue {
        var body: [(String, JSONValue)] = [
            ("model", .string(config.model)), ("messages", .array(messages)),
            ("temperature", .number(config.temperature)), ("max_tokens", .number(Double(config.maxTokens))),
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
                return msg
            case 429, 408, 500...599:
                guard attempt <= config.maxRetries else {
                    throw ChatFailure(message: "HTTP \(resp.status) after \(attempt) attempt(s)" + errorDetail(resp))
                }
                var wait = delay
                if resp.status == 429, let ra = resp.headers["retry-after"], let s = Self.retryAfterSeconds(ra) {
                    guard s <= config.maxRetryAfter else {
                        throw ChatFailure(message: "HTTP 429 with Retry-After \(Int(s)) s, beyond the \(Int(config.maxRetryAfter)) s limit")
                    }
                    wait = s
                }
                try pause(wait)
            default:
                throw ChatFailure(message: "HTTP \(resp.status)" + errorDetail(resp))
            }
        }
    }

    /// `error.message` of an OpenAI-style error body, shortened.
    func errorDetail(_ r: HTTPResponse) -> String {
        guard let v = try? JSONParser.parse(r.text), let m = v["error"]?["message"]?.stringValue ?? v["error"]?.stringValue else { return "" }
        return ": " + String(m.prefix(200))
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
