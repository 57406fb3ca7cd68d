import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Support
import Testing
@testable import Serving

/// The server in this process on a free loopback port, for the duration of `body`.
func withServer(_ configure: (inout ServeConfig) -> Void = { _ in }, _ body: (String) async throws -> Void) async throws {
    var c = ServeConfig(home: tempHome())
    c.port = 0
    c.log = false
    configure(&c)
    let server = EnvironmentServer(config: c)
    let (stream, cont) = AsyncStream<Int>.makeStream()
    let task = Task { try await server.run { _, port in cont.yield(port) } }
    var it = stream.makeAsyncIterator()
    guard let port = await it.next() else { Issue.record("the server did not start"); return }
    defer { task.cancel() }
    try await body("http://127.0.0.1:\(port)")
}

struct Reply { var status: Int; var json: JSONValue; var headers: [AnyHashable: Any] }

func request(_ url: String, method: String = "GET", body: String? = nil, headers: [String: String] = [:]) async throws -> Reply {
    var r = URLRequest(url: URL(string: url)!)
    r.httpMethod = method
    if let body { r.httpBody = Data(body.utf8); r.setValue("application/json", forHTTPHeaderField: "Content-Type") }
    for (k, v) in headers { r.setValue(v, forHTTPHeaderField: k) }
    let (d, resp) = try await URLSession.shared.data(for: r)
    let http = resp as! HTTPURLResponse
    return Reply(status: http.statusCode, json: (try? JSONParser.parse(String(decoding: d, as: UTF8.self))) ?? .null,
                 headers: http.allHeaderFields)
}

@Suite(.serialized) struct ServerHTTPTests {
    @Test func statelessHTTPPlaysAnEpisodeBySessionID() async throws {
        try await withServer { base in
            let h = try await request(base + "/health")
            #expect(h.status == 200 && h.json["status"] == .string("healthy"))
            let meta = try await request(base + "/metadata")
            #expect(meta.json["envs"].map { if case let .array(a) = $0 { return a.count } else { return 0 } } == 5)
            let schema = try await request(base + "/schema")
            #expect(schema.json["action"] != nil && schema.json["observation"] != nil && schema.json["state"] != nil)
            let r = try await request(base + "/reset", method: "POST", body: #"{"env": "ezpoints", "seed": 9, "frames": false}"#)
            #expect(r.status == 200)
            let id = try #require(r.json["metadata"]?["session_id"]?.stringValue)
            #expect(r.json["observation"]?["frame"] == .null)
            let legal = try #require(r.json["observation"]?["legal_actions"])
            guard case let .array(actions) = legal, let first = actions.first?.stringValue else { Issue.record("no legal actions"); return }
            let s = try await request(base + "/step", method: "POST", body: #"{"session_id": "\#(id)", "action": {"action": "\#(first)"}}"#)
            #expect(s.status == 200)
            #expect(s.json["observation"]?["t"] == .number(1))
            let st = try await request(base + "/state?session_id=\(id)")
            #expect(st.json["step_count"] == .number(1))
            let e = try await request(base + "/expert", method: "POST", body: #"{"session_id": "\#(id)"}"#)
            #expect(e.json["action"]?.stringValue != nil)
            let bad = try await request(base + "/step", method: "POST", body: #"{"session_id": "nope", "action": {"action": "1"}}"#)
            #expect(bad.status == 404 && bad.json["error"]?["code"] == .string("SESSION_ERROR"))
            let garbage = try await request(base + "/step", method: "POST", body: "{not json")
            #expect(garbage.status == 400 && garbage.json["error"]?["code"] == .string("INVALID_JSON"))
            let closed = try await request(base + "/close", method: "POST", body: #"{"session_id": "\#(id)"}"#)
            #expect(closed.status == 200)
            let after = try await request(base + "/state?session_id=\(id)")
            #expect(after.status == 404)
        }
    }

    @Test func aTokenIsRequiredWhenConfiguredAndNeverEchoed() async throws {
        let token = "s3cret-token-0123456789"
        try await withServer({ $0.token = token }) { base in
            let none = try await request(base + "/reset", method: "POST", body: "{}")
            #expect(none.status == 401 && none.json["error"]?["code"] == .string("UNAUTHORIZED"))
            let wrong = try await request(base + "/metadata", headers: ["Authorization": "Bearer " + token + "x"])
            #expect(wrong.status == 401)
            #expect(!(wrong.json.serialized().contains(token)))
            let ok = try await request(base + "/reset", method: "POST", body: "{}", headers: ["Authorization": "Bearer " + token])
            #expect(ok.status == 200)
            #expect(try await request(base + "/health").status == 200)  // health stays open for load balancers
        }
    }

    @Test func limitsAnswerWithTheirOwnCodes() async throws {
        try await withServer({ $0.maxSessions = 2; $0.maxMessageBytes = 1024 }) { base in
            _ = try await request(base + "/reset", method: "POST", body: "{}")
            _ = try await request(base + "/reset", method: "POST", body: "{}")
            let third = try await request(base + "/reset", method: "POST", body: "{}")
            #expect(third.status == 503 && third.json["error"]?["code"] == .string("CAPACITY_REACHED"))
            let big = try await request(base + "/reset", method: "POST", body: #"{"x": ""# + String(repeating: "a", count: 5000) + #""}"#)
            #expect(big.status == 413 && big.json["error"]?["code"] == .string("MESSAGE_TOO_LARGE"))
        }
    }

    @Test func anIdleSessionIsClosedAfterItsTimeout() async throws {
        try await withServer({ $0.idleTimeout = 1 }) { base in
            let r = try await request(base + "/reset", method: "POST", body: "{}")
            let id = try #require(r.json["metadata"]?["session_id"]?.stringValue)
            #expect(try await request(base + "/state?session_id=\(id)").status == 200)
            try await Task.sleep(nanoseconds: 3_500_000_000)
            let gone = try await request(base + "/state?session_id=\(id)")
            #expect(gone.status == 404 && gone.json["error"]?["code"] == .string("SESSION_ERROR"))
            #expect(try await request(base + "/health").json["sessions"] == .number(0))
        }
    }

    @Test func webSocketMessagesGetOpenEnvReplies() throws {
        let server = EnvironmentServer(config: { var c = ServeConfig(home: tempHome()); c.log = false; return c }())
        let s = try server.table.open(client: "t", peer: "p", transport: "test")
        #expect(server.respond(to: "{oops", in: s)?["data"]?["code"] == .string("INVALID_JSON"))
        #expect(server.respond(to: "[1,2]", in: s)?["data"]?["code"] == .string("VALIDATION_ERROR"))
        #expect(server.respond(to: #"{"type": "dance"}"#, in: s)?["data"]?["code"] == .string("UNKNOWN_TYPE"))
        #expect(server.respond(to: String(repeating: "[", count: 10_000), in: s)?["data"]?["code"] == .string("INVALID_JSON"))
        let r = server.respond(to: #"{"type": "reset", "data": {"seed": 1}}"#, in: s)
        #expect(r?["type"] == .string("observation"))
        #expect(r?["data"]?["observation"]?["episode"] == .number(1))
        #expect(server.respond(to: #"{"type": "state"}"#, in: s)?["type"] == .string("state"))
        #expect(server.respond(to: #"{"type": "close"}"#, in: s) == nil)
    }

    @Test func theConfigRefusesAnExposedServerWithoutAToken() throws {
        #expect(throws: ServeConfigError.self) { try ServeConfig.parse(["host=0.0.0.0"], environment: [:]) }
        #expect(throws: ServeConfigError.self) { try ServeConfig.parse(["host=0.0.0.0", "token_env=T"], environment: ["T": "short"]) }
        #expect(throws: ServeConfigError.self) { try ServeConfig.parse(["port=70000"], environment: [:]) }
        #expect(throws: ServeConfigError.self) { try ServeConfig.parse(["colour=red"], environment: [:]) }
        #expect(throws: ServeConfigError.self) { try ServeConfig.parse(["port=1", "port=2"], environment: [:]) }
        let c = try ServeConfig.parse(["host=0.0.0.0", "token_env=T", "max_sessions=8", "idle_timeout=5", "log=off"],
                                      environment: ["T": "0123456789abcdef0123", "GTR_HOME": "/tmp/h"])
        #expect(c.token == "0123456789abcdef0123" && c.maxSessions == 8 && c.idleTimeout == 5 && !c.log && c.home == "/tmp/h")
        #expect(ServeConfig.usage.contains("token_env=NAME"))
    }

    @Test func theTokenCheckAcceptsOnlyTheToken() {
        let t = TokenCheck(token: "abcdefghijklmnop")
        #expect(t.accepts("abcdefghijklmnop"))
        #expect(!t.accepts("abcdefghijklmnoq"))
        #expect(!t.accepts("abcdefghijklmno"))
        #expect(!t.accepts("abcdefghijklmnop" + String(repeating: "\0", count: 256)))
        #expect(!t.accepts(nil))
        #expect(TokenCheck.bearer("Bearer xyz") == "xyz" && TokenCheck.bearer("bearer  xyz ") == "xyz" && TokenCheck.bearer("Basic xyz") == nil)
    }
}
