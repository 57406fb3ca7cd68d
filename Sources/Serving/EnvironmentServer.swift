import Foundation
import Hummingbird
import HummingbirdWebSocket
import HTTPTypes
import Logging
import NIOCore
import Support

/// The request context of WebSocket upgrades: Hummingbird's, plus the peer's address (logged with the session).
struct UpgradeContext: WebSocketRequestContext, RemoteAddressRequestContext {
    var coreContext: CoreRequestContextStorage
    let webSocket: WebSocketHandlerReference<UpgradeContext>
    let remoteAddress: SocketAddress?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        webSocket = .init()
        remoteAddress = source.channel.remoteAddress
    }
}

/// `gtr serve`: gtr's environments, oracle corrector and experts over OpenEnv's protocol. A WebSocket on `/ws` is
/// one session (OpenEnv's stock clients work unchanged); plain HTTP (`/reset`, `/step`, `/state`, ...) names its
/// session by id. Every served step can be logged, one gtr session per connection.
public final class EnvironmentServer: Sendable {
    public let config: ServeConfig
    let table: SessionTable
    private let tokenCheck: TokenCheck?

    public init(config: ServeConfig) {
        self.config = config
        table = SessionTable(config: config)
        tokenCheck = config.token.map(TokenCheck.init(token:))
    }

    /// Open sessions now.
    public var sessionCount: Int { table.count }

    /// Runs until SIGINT/SIGTERM; `onListening` gets the bound address and port once the socket listens.
    public func run(onListening: @escaping @Sendable (String, Int) -> Void) async throws {
        var logger = Logger(label: "gtr-serve")
        logger.logLevel = .critical
        let app = Application(
            router: httpRouter(),
            server: .http1WebSocketUpgrade(
                webSocketRouter: webSocketRouter(),
                configuration: .init(ws: .init(maxFrameSize: min(config.maxMessageBytes * 4, Int(UInt32.max)),
                                               autoPing: .enabled(timePeriod: .seconds(20))))),
            configuration: .init(address: .hostname(config.host, port: config.port), serverName: "gtr"),
            onServerRunning: { [config] channel in onListening(config.host, channel.localAddress?.port ?? config.port) },
            logger: logger)
        let sweeper = Task { [table] in
            while !Task.isCancelled {
                try? await Task.sleep(nanoseconds: 1_000_000_000)
                table.sweep()
            }
        }
        defer { sweeper.cancel(); table.closeAll() }
        try await app.runService()
    }

    // MARK: auth

    /// Nil when the request may proceed: no token is configured, or it sent the token as a bearer header or as the
    /// `token` query parameter (WebSocket clients that cannot set headers).
    func refusal(_ request: Request) -> ServeError? {
        guard let check = tokenCheck else { return nil }
        let given = TokenCheck.bearer(request.headers[.authorization]) ?? request.uri.queryParameters.get("token")
        return check.accepts(given) ? nil : ServeError(.unauthorized, "this server needs a token: send Authorization: Bearer TOKEN (or ?token= on /ws)")
    }

    // MARK: WebSocket

    func webSocketRouter() -> Router<UpgradeContext> {
        let router = Router(context: UpgradeContext.self)
        // A missing or wrong token is answered over the socket (an UNAUTHORIZED error, then close code 1008), so
        // that a client reads why; a refused upgrade would only say "HTTP 400". No session is opened for it.
        router.ws("/ws", shouldUpgrade: { _, _ in .upgrade([:]) }, onUpgrade: { [self] inbound, outbound, context in
            if let e = refusal(context.request) {
                // The reply waits for the client's first message (or 5 s), so a client that sends before it
                // reads (OpenEnv's does) always gets the error, never a socket closed under its send.
                try? await outbound.write(.text(e.reply.serialized()))
                await withTaskGroup(of: Void.self) { g in
                    g.addTask { do { for try await _ in inbound { break } } catch {} }
                    g.addTask { try? await Task.sleep(nanoseconds: 5_000_000_000) }
                    await g.next()
                    g.cancelAll()
                    try? await outbound.close(.policyViolation, reason: "token required")
                }
                return
            }
            let peer = context.requestContext.remoteAddress.map { "\($0.ipAddress ?? "?"):\($0.port ?? 0)" } ?? "unknown"
            let client: String = context.request.uri.queryParameters.get("client") ?? "websocket"
            await serve(inbound: inbound, outbound: outbound, client: String(client.prefix(80)), peer: peer)
        })
        return router
    }

    private func serve(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, client: String, peer: String) async {
        let session: ServedSession
        do { session = try table.open(client: client, peer: peer, transport: "websocket") } catch {
            try? await outbound.write(.text(error.reply.serialized()))
            try? await outbound.close(.unexpectedServerError, reason: "capacity reached")
            return
        }
        session.onServerClose = { reason in Task { try? await outbound.close(.goingAway, reason: reason) } }
        defer { table.close(session) }
        let limit = config.maxMessageBytes
        var message = ByteBuffer()
        var binary = false, tooLarge = false
        do {
            for try await frame in inbound {
                switch frame.opcode {
                case .text, .binary:
                    message.clear(); tooLarge = false
                    binary = frame.opcode == .binary
                case .continuation: break
                }
                if !tooLarge, message.readableBytes + frame.data.readableBytes <= limit {
                    var d = frame.data
                    message.writeBuffer(&d)
                } else {
                    tooLarge = true
                    message.clear()
                }
                guard frame.fin else { continue }
                let reply: JSONValue?
                if tooLarge {
                    reply = ServeError(.tooLarge, "a message is at most \(limit) bytes (the server's max_message= setting)").reply
                } else if binary {
                    reply = ServeError(.invalidJSON, "binary frames are not messages: send JSON text").reply
                } else {
                    reply = respond(to: String(buffer: message), in: session)
                }
                message.clear()
                guard let reply else { break }  // close
                try await outbound.write(.text(reply.serialized()))
            }
        } catch {
            // The client vanished (or broke the protocol): the session ends, the others go on.
        }
    }

    /// The reply to one WebSocket text message; nil for `close`.
    func respond(to text: String, in session: ServedSession) -> JSONValue? {
        let value: JSONValue
        do { value = try JSONParser.parse(text) } catch {
            return ServeError(.invalidJSON, "invalid JSON: \(error)").reply
        }
        guard case .object = value, let type = value["type"]?.stringValue else {
            return ServeError(.validation, "a message is an object {\"type\": \"reset\"|\"step\"|\"state\"|\"correct\"|\"expert\"|\"close\", \"data\": {...}}").reply
        }
        if type == "close" { return nil }
        do {
            let (t, d) = try session.handle(type: type, data: value["data"])
            return .object([("type", .string(t)), ("data", d)])
        } catch {
            return error.reply
        }
    }

    // MARK: HTTP

    static func json(_ v: JSONValue, status: Int = 200, session: String? = nil) -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let session, let name = HTTPField.Name("X-Session-Id") { headers[name] = session }
        return Response(status: .init(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(string: v.serialized())))
    }

    static func failure(_ e: ServeError) -> Response {
        json(.object([("error", e.body)]), status: e.code.httpStatus)
    }

    /// A JSON request body (an empty body is `{}`), within `max_message`.
    func body(_ request: Request) async throws(ServeError) -> JSONValue {
        let buffer: ByteBuffer
        do { buffer = try await request.body.collect(upTo: config.maxMessageBytes) } catch {
            throw ServeError(.tooLarge, "a request body is at most \(config.maxMessageBytes) bytes (the server's max_message= setting)")
        }
        let text = String(buffer: buffer)
        if text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { return .object([]) }
        let v: JSONValue
        do { v = try JSONParser.parse(text) } catch { throw ServeError(.invalidJSON, "invalid JSON: \(error)") }
        guard case .object = v else { throw ServeError(.validation, "the request body must be a JSON object") }
        return v
    }

    func sessionID(_ request: Request, _ body: JSONValue?) throws(ServeError) -> String {
        if let s = body?["session_id"]?.stringValue { return s }
        if let name = HTTPField.Name("X-Session-Id"), let s = request.headers[name] { return s }
        if let s = request.uri.queryParameters.get("session_id") { return String(s) }
        throw ServeError(.validation, "name the session: session_id in the body, ?session_id= or an X-Session-Id header (POST /reset opens one)")
    }

    /// Runs a handler with the token check and gtr's error replies.
    func guarded(_ request: Request, _ handler: () async throws(ServeError) -> Response) async -> Response {
        if let e = refusal(request) { return Self.failure(e) }
        do { return try await handler() } catch { return Self.failure(error) }
    }

    func httpRouter() -> Router<BasicRequestContext> {
        let router = Router()
        router.get("/health") { [self] _, _ in
            Self.json(.object([("status", .string("healthy")), ("sessions", .number(Double(table.count))),
                               ("max_sessions", .number(Double(config.maxSessions)))]))
        }
        router.get("/metadata") { [self] request, _ in await guarded(request) { Self.json(WireSchema.metadata) } }
        router.get("/schema") { [self] request, _ in await guarded(request) { Self.json(WireSchema.schema) } }
        router.post("/reset") { [self] request, _ in
            await guarded(request) { () throws(ServeError) -> Response in
                let b = try await body(request)
                if let id = b["session_id"]?.stringValue {
                    let s = try table.get(id)
                    return Self.json(try s.handle(type: "reset", data: b).data, session: s.id)
                }
                let client = request.headers[HTTPField.Name("X-GTR-Client")!] ?? "http"
                let s = try table.open(client: String(client.prefix(80)), peer: "http", transport: "http")
                do throws(ServeError) { return Self.json(try s.handle(type: "reset", data: b).data, session: s.id) } catch {
                    table.close(s)  // the client never learned its id
                    throw error
                }
            }
        }
        router.post("/step") { [self] request, _ in
            await guarded(request) { () throws(ServeError) -> Response in
                let b = try await body(request)
                let s = try table.get(try sessionID(request, b))
                return Self.json(try s.handle(type: "step", data: b["action"]).data, session: s.id)
            }
        }
        router.get("/state") { [self] request, _ in
            await guarded(request) { () throws(ServeError) -> Response in
                let s = try table.get(try sessionID(request, nil))
                return Self.json(try s.handle(type: "state", data: nil).data, session: s.id)
            }
        }
        for kind in ["correct", "expert"] {
            router.post(RouterPath(stringLiteral: "/" + kind)) { [self] request, _ in
                await guarded(request) { () throws(ServeError) -> Response in
                    let b = try await body(request)
                    let s = try table.get(try sessionID(request, b))
                    return Self.json(try s.handle(type: kind, data: b).data, session: s.id)
                }
            }
        }
        router.post("/close") { [self] request, _ in
            await guarded(request) { () throws(ServeError) -> Response in
                let b = try await body(request)
                let s = try table.get(try sessionID(request, b))
                table.close(s)
                return Self.json(.object([("closed", .string(s.id)), ("log_session", .number(Double(s.logSessionID)))]))
            }
        }
        return router
    }
}
