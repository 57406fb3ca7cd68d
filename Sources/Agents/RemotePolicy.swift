import Foundation
import Support

/// Any OpenAI-compatible chat endpoint (vLLM, llama.cpp's server, Ollama) as the agent, for inference only: each
/// input is one user turn (the prompt, and the frame as a PNG part when the endpoint takes images), sampled with
/// the shell's temperature, top-p and seed. When the server returns token log-probs, the output carries them
/// token by token and the thought/action split is exact; otherwise the text is split into a thought piece and an
/// action piece whose log-probs are unknown (NaN). Remote tokens get local ids in the order they are first seen,
/// so `decode` always works; the server cannot score given tokens, so `evaluate` and `value` are unsupported and
/// PPO cannot train a remote agent.
public final class RemotePolicy: Policy, @unchecked Sendable {
    public static let kind = "remote"

    public enum Images: String, Sendable, CaseIterable { case auto, on, off }

    public struct Config: Sendable {
        /// Base URL, e.g. `http://127.0.0.1:8080/v1` (`/chat/completions` is appended).
        public var baseURL: String
        public var model: String
        /// Environment variable holding the API key (sent as a bearer token, never printed or logged).
        public var keyEnv: String?
        public var images = Images.auto
        public var connectTimeout = 5.0
        /// Per request, retries included in the bound below.
        public var totalTimeout = 120.0
        public var maxRetries = 2
        /// Requests in flight at once for a batch.
        public var concurrency = 4
        public init(baseURL: String, model: String, keyEnv: String? = nil) { self.baseURL = baseURL; self.model = model; self.keyEnv = keyEnv }
        public var endpoint: String {
            let b = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
            return b.hasSuffix("/chat/completions") ? b : b + "/chat/completions"
        }
    }

    public let config: Config
    public var name: String
    public var training: [String: String] = [:]
    /// Whether the endpoint takes image parts: `images=on/off`, or what `probe` found for `auto`.
    public private(set) var acceptsImages: Bool
    /// Whether the last reply carried token log-probs.
    public private(set) var returnsLogProbs = false
    /// One line per thing `probe` found out, for `model connect` to print.
    public private(set) var notes: [String] = []

    private let lock = NSLock()
    private var tokens: [String] = ["<|end|>"]
    private var ids: [String: Int32] = ["<|end|>": 0]
    /// Polled during transfers (Ctrl-C in the shell).
    public var cancel: (@Sendable () -> Bool)?

    public init(config: Config) throws {
        guard let u = URL(string: config.endpoint), let s = u.scheme, ["http", "https"].contains(s), u.host != nil else {
            throw AgentError.badInput("url=\(config.baseURL): expected http(s)://host[:port]/path")
        }
        guard !config.model.isEmpty else { throw AgentError.badInput("model= is required (the name the server serves)") }
        if let k = config.keyEnv {
            guard let v = ProcessInfo.processInfo.environment[k], !v.isEmpty else { throw AgentError.badInput("key_env=\(k): the environment variable \(k) is not set") }
        }
        self.config = config
        name = config.model
        acceptsImages = config.images != .off
    }

    var apiKey: String? { config.keyEnv.flatMap { ProcessInfo.processInfo.environment[$0] }.flatMap { $0.isEmpty ? nil : $0 } }

    /// The key removed from any text that may reach output, logs or the database.
    public func redact(_ s: String) -> String {
        guard let k = apiKey, k.count >= 4 else { return s }
        return s.replacingOccurrences(of: k, with: "[redacted]")
    }

    /// One small request that finds out, before any episode, whether the endpoint answers, takes an image part
    /// (`images=auto`: the user turn as text + a 1×1 image; a refusal, or an answer that missed the question because
    /// the template dropped the turn, means text only) and returns log-probs.
    public func probe() throws {
        do { try probeRequests() } catch let e as RemoteFailure {
            throw AgentError.badInput("\(config.endpoint) did not answer a test request: \(e.message)")
        }
    }

    func probeRequests() throws {
        let question = "What is 2 + 3? Reply with the number only."
        if config.images != .off {
            do {
                let r = try request(prompt: question, image: RGBImage(width: 1, height: 1), temperature: 0, topP: 1, maxTokens: 8, seed: 0)
                if r.content.contains("5") {
                    notes.append("images: the endpoint takes image parts" + (config.images == .auto ? " (images=auto)" : ""))
                    returnsLogProbs = r.logProbs != nil
                    notes.append("log-probs: " + (returnsLogProbs ? "returned per token" : "not returned (thought/action log-probs unknown)"))
                    return
                }
                guard config.images == .auto else {
                    notes.append("images=on: the reply to a test question with an image part missed it ('\(oneLine(r.content).prefix(40))'); the template may drop such turns")
                    returnsLogProbs = r.logProbs != nil
                    return
                }
                notes.append("images=auto: with an image part the endpoint missed a test question ('\(oneLine(r.content).prefix(40))'); text only from now on")
            } catch let e as RemoteFailure where config.images == .auto && e.refusesImages {
                notes.append("images=auto: the endpoint refused an image part (\(e.message)); text only from now on")
            }
            acceptsImages = false
        }
        let r = try request(prompt: question, image: nil, temperature: 0, topP: 1, maxTokens: 8, seed: 0)
        returnsLogProbs = r.logProbs != nil
        notes.append("log-probs: " + (returnsLogProbs ? "returned per token" : "not returned (thought/action log-probs unknown)"))
    }

    // MARK: Policy

    public var kind: String { Self.kind }
    public var readsImages: Bool { acceptsImages }
    /// The server enforces its own context; gtr does not know it.
    public var contextLength: Int { 1 << 30 }
    public func inputTokenCount(_ input: AgentInput) -> (visual: Int, text: Int) { (0, 0) }
    public var endOfText: Int32 { 0 }
    public var vocabularySize: Int { lock.lock(); defer { lock.unlock() }; return tokens.count }

    public var summary: String {
        "\(config.model) at \(config.endpoint) (remote, inference only; images \(acceptsImages ? "on" : "off"), log-probs \(returnsLogProbs ? "on" : "off"))"
    }

    public func describe() -> [String] {
        ["kind:      remote OpenAI-compatible chat endpoint (inference only: no evaluate, value or training)",
         "endpoint:  \(config.endpoint) model \(config.model)" + (config.keyEnv.map { " key from $\($0)" } ?? ""),
         "images:    \(config.images.rawValue) → \(acceptsImages ? "frames sent as PNG parts" : "text only (observation=text)")",
         "log-probs: \(returnsLogProbs ? "per token from the server" : "not returned")",
         "tokens:    \(vocabularySize) distinct remote tokens seen (local ids)"]
    }

    func id(_ token: String) -> Int32 {
        lock.lock(); defer { lock.unlock() }
        if let i = ids[token] { return i }
        let i = Int32(tokens.count)
        tokens.append(token); ids[token] = i
        return i
    }

    /// Local ids of a text, one per character (the server's tokenizer is not known here).
    public func encode(_ text: String) -> [Int32] { text.map { id(String($0)) } }
    public func decode(_ ids: [Int32]) -> String {
        lock.lock(); defer { lock.unlock() }
        return ids.compactMap { $0 > 0 && Int($0) < tokens.count ? tokens[Int($0)] : nil }.joined()
    }
    public func tokenText(_ id: Int32) -> String {
        lock.lock(); defer { lock.unlock() }
        return id >= 0 && Int(id) < tokens.count ? tokens[Int(id)] : "?"
    }

    public func evaluate(_ input: AgentInput, outputs: [[Int32]], lambda: Float, temperature: Float) throws -> [PolicyEvaluation] {
        throw AgentError.unsupported("\(name) is a remote endpoint: it cannot score given tokens (evaluate needs a local model)")
    }

    public func value(_ input: AgentInput) throws -> Float {
        throw AgentError.unsupported("\(name) is a remote endpoint: it has no value head")
    }

    public func generate(_ inputs: [AgentInput], prefixes: [[Int32]]?, config g: GenerationConfig) throws -> [PolicyOutput] {
        guard !inputs.isEmpty else { return [] }
        if let prefixes, prefixes.contains(where: { !$0.isEmpty }) {
            throw AgentError.unsupported("\(name) is a remote endpoint: it cannot continue after an edited thought")
        }
        final class Results: @unchecked Sendable {
            var items: [Result<PolicyOutput, Error>?]
            let lock = NSLock()
            init(_ n: Int) { items = Array(repeating: nil, count: n) }
        }
        let results = Results(inputs.count)
        let slots = DispatchSemaphore(value: max(1, config.concurrency))
        let group = DispatchGroup()
        for (k, input) in inputs.enumerated() {
            slots.wait()
            group.enter()
            DispatchQueue.global().async {
                defer { slots.signal(); group.leave() }
                let r = Result { try self.generateOne(input, config: g, seed: g.seed &+ UInt64(k)) }
                results.lock.lock(); results.items[k] = r; results.lock.unlock()
            }
        }
        group.wait()
        return try results.items.map { try $0!.get() }
    }

    func generateOne(_ input: AgentInput, config g: GenerationConfig, seed: UInt64) throws -> PolicyOutput {
        let reply: Reply
        do {
            reply = try request(prompt: input.prompt, image: acceptsImages && input.image.width > 0 ? input.image : nil,
                                temperature: g.greedy ? 0 : Double(g.temperature), topP: Double(g.topP), maxTokens: g.maxNewTokens, seed: seed)
        } catch let e as RemoteFailure {
            throw AgentError.badInput("\(name) at \(config.endpoint): \(e.message)")
        }
        var pieces: [String], lps: [Float]
        if let lp = reply.logProbs, lp.map(\.token).joined() == reply.content {
            pieces = lp.map(\.token); lps = lp.map(\.logProb)
        } else {
            // no per-token log-probs: a thought piece and an action piece, log-probs unknown
            let text = reply.content
            if let r = text.range(of: "\"action\":", options: .backwards), r.lowerBound > text.startIndex {
                pieces = [String(text[..<r.lowerBound]), String(text[r.lowerBound...])]
            } else {
                pieces = [text]
            }
            lps = pieces.map { _ in Float.nan }
        }
        var tokenIDs = pieces.map(id)
        var offsets = [0]
        for p in pieces { offsets.append(offsets.last! + p.utf8.count) }
        if reply.finished { tokenIDs.append(0); lps.append(reply.logProbs == nil ? .nan : 0); offsets.append(offsets.last!) }
        let spans = OutputSpans.locate(text: reply.content, byteOffsets: offsets)
        return PolicyOutput(text: reply.content, tokenIDs: tokenIDs, tokenLogProbs: lps, behaviourLogProbs: lps,
                            tokenEntropies: lps.map { _ in 0 }, spans: spans, value: 0, finished: reply.finished)
    }

    // MARK: HTTP

    struct Reply {
        var content: String
        var finished: Bool
        var logProbs: [(token: String, logProb: Float)]?
    }

    struct RemoteFailure: Error {
        var message: String
        var status = 0
        var refusesImages: Bool { [400, 415, 422, 500].contains(status) }
    }

    func oneLine(_ s: String) -> String { String(s.split(whereSeparator: \.isNewline).joined(separator: " ").prefix(300)) }

    func request(prompt: String, image: RGBImage?, temperature: Double, topP: Double, maxTokens: Int, seed: UInt64) throws -> Reply {
        let content: JSONValue
        if let image {
            let url = "data:image/png;base64," + Data(PNG.encode(image)).base64EncodedString()
            content = .array([.object([("type", .string("text")), ("text", .string(prompt))]),
                              .object([("type", .string("image_url")), ("image_url", .object([("url", .string(url))]))])])
        } else {
            content = .string(prompt)
        }
        let body: [(String, JSONValue)] = [
            ("model", .string(config.model)),
            ("messages", .array([.object([("role", .string("user")), ("content", content)])])),
            ("temperature", .number(temperature)), ("top_p", .number(topP)), ("max_tokens", .number(Double(maxTokens))),
            ("seed", .number(Double(seed % (1 << 31)))), ("logprobs", .bool(true)), ("top_logprobs", .number(1)),
        ]
        var headers = ["Content-Type: application/json", "Accept: application/json"]
        if let k = apiKey { headers.append("Authorization: Bearer \(k)") }
        let bytes = Array(JSONValue.object(body).serialized().utf8)
        let deadline = Date().addingTimeInterval(config.totalTimeout)
        var attempt = 0
        while true {
            attempt += 1
            let left = deadline.timeIntervalSinceNow
            guard left > 0.5 else { throw RemoteFailure(message: "no reply within \(Int(config.totalTimeout)) s after \(attempt - 1) attempt(s)") }
            let resp: HTTPResponse
            do {
                resp = try HTTPClient.post(url: config.endpoint, headers: headers, body: bytes, connectTimeout: config.connectTimeout,
                                           totalTimeout: left, cancel: cancel)
            } catch let e as HTTPError {
                if e == .cancelled { throw RemoteFailure(message: "cancelled") }
                guard e.transient, attempt <= config.maxRetries else { throw RemoteFailure(message: redact("\(e)") + " after \(attempt) attempt(s)") }
                Thread.sleep(forTimeInterval: min(0.5 * Double(attempt), max(0, deadline.timeIntervalSinceNow - 0.5)))
                continue
            }
            switch resp.status {
            case 200..<300:
                guard let v = try? JSONParser.parse(resp.text) else {
                    throw RemoteFailure(message: resp.body.isEmpty ? "empty reply body" : "the reply is not JSON (\(resp.body.count) bytes)")
                }
                guard case let .array(choices)? = v["choices"], let c = choices.first, let msg = c["message"] else {
                    throw RemoteFailure(message: "the reply has no choices[0].message" + errorDetail(resp))
                }
                let text = msg["content"]?.stringValue ?? ""
                var lps: [(String, Float)]?
                if case let .array(items)? = c["logprobs"]?["content"], !items.isEmpty {
                    lps = items.compactMap { it in
                        guard let t = it["token"]?.stringValue, let l = it["logprob"]?.numberValue else { return nil }
                        return (t, Float(l))
                    }
                    if lps?.count != items.count { lps = nil }
                }
                return Reply(content: redact(text), finished: c["finish_reason"]?.stringValue != "length", logProbs: lps?.map { (redact($0.0), $0.1) })
            case 408, 429, 502...599 where attempt <= config.maxRetries:
                Thread.sleep(forTimeInterval: min(0.5 * Double(attempt), max(0, deadline.timeIntervalSinceNow - 0.5)))
            default:
                throw RemoteFailure(message: "HTTP \(resp.status)" + errorDetail(resp), status: resp.status)
            }
        }
    }

    /// The server's own words for an error, on one line, redacted.
    func errorDetail(_ r: HTTPResponse) -> String {
        var m: String?
        if let v = try? JSONParser.parse(r.text) {
            m = v["error"]?["message"]?.stringValue ?? v["error"]?.stringValue ?? v["detail"]?.stringValue ?? v["message"]?.stringValue
        } else if !r.text.isEmpty {
            m = r.text
        }
        guard let m else { return "" }
        return ": " + oneLine(redact(m)).prefix(200)
    }
}
