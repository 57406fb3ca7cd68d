import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Support
import Testing
@testable import Serving

/// `gtr-serve` in a process of its own on a free loopback port, for the duration of `body`. (Not in this process:
/// the test runner keeps Swift's cooperative threads busy with other suites, which would starve the server.)
func withServer(_ args: [String] = [], env: [String: String] = [:], _ body: (String) throws -> Void) throws {
    let server = try RCServer.start(args: ["log=off"] + args, env: env)
    defer { server.stop() }
    try body(server.url)
}

struct Reply { var status: Int; var json: JSONValue; var headers: [AnyHashable: Any] }

/// A blocking HTTP request (URLSession's completion runs on its own queue, not the test's).
func request(_ url: String, method: String = "GET", body: String? = nil, headers: [String: String] = [:]) throws -> Reply {
    var r = URLRequest(url: URL(string: url)!, timeoutInterval: 120)
    r.httpMethod = method
    if let body { r.httpBody = Data(body.utf8); r.setValue("application/json", forHTTPHeaderField: "Content-Type") }
    for (k, v) in headers { r.setValue(v, forHTTPHeaderField: k) }
    let done = DispatchSemaphore(value: 0)
    nonisolated(unsafe) var result: Result<Reply, Error> = .failure(URLError(.unknown))
    URLSession.shared.dataTask(with: r) { d, resp, err in
        if let err { result = .failure(err) } else if let http = resp as? HTTPURLResponse {
            result = .success(Reply(status: http.statusCode, json: (try? JSONParser.parse(String(decoding: d ?? Data(), as: UTF8.self))) ?? .null,
                                    headers: http.allHeaderFields))
        }
        done.signal()
    }.resume()
    done.wait()
    return try result.get()
}

@Suite(.serialized) struct ServerHTTPTests {
    @Test func statelessHTTPPlaysAnEpisodeBySessionID() throws {
        try withServer { base in
            let h = try request(base + "/health")
            #expect(h.status == 200 && h.json["status"] == .string("healthy"))
            let meta = try request(base + "/metadata")
            #expect(meta.json["envs"].map { if case let .array(a) = $0 { return a.count } else { return 0 } } == 5)
            let schema = try request(base + "/schema")
            #expect(schema.json["action"] != nil && schema.json["observation"] != nil && schema.json["state"] != nil)
            let r = try request(base + "/reset", method: "POST", body: #"{"env": "ezpoints", "seed": 9, "frames": false}"#)
            #expect(r.status == 200)
            let id = try #require(r.json["metadata"]?["session_id"]?.stringValue)
            #expect(r.json["observation"]?["frame"] == .null)
            let legal = try #require(r.json["observation"]?["legal_actions"])
            guard case let .array(actions) = legal, let first = actions.first?.stringValue else { Issue.record("no legal actions"); return }
            let s = try request(base + "/step", method: "POST", body: #"{"session_id": "\#(id)", "action": {"action": "\#(first)"}}"#)
            #expect(s.status == 200)
            #expect(s.json["observation"]?["t"] == .number(1))
            let st = try request(base + "/state?session_id=\(id)")
            #expect(st.json["step_count"] == .number(1))
            let e = try request(base + "/expert", method: "POST", body: #"{"session_id": "\#(id)"}"#)
            #expect(e.json["action"]?.stringValue != nil)
            let bad = try request(base + "/step", method: "POST", body: #"{"session_id": "nope", "action": {"action": "1"}}"#)
            #expect(bad.status == 404 && bad.json["error"]?["code"] == .string("SESSION_ERROR"))
            let garbage = try request(base + "/step", method: "POST", body: "{not json")
            #expect(garbage.status == 400 && garbage.json["error"]?["code"] == .string("INVALID_JSON"))
            let closed = try request(base + "/close", method: "POST", body: #"{"session_id": "\#(id)"}"#)
            #expect(closed.status == 200)
            let after = try request(base + "/state?session_id=\(id)")
            #expect(after.status == 404)
        }
    }

    @Test func aTokenIsRequiredWhenConfiguredAndNeverEchoed() throws {
        let token = "s3cret-token-0123456789"
        try withServer(["token_env=GTR_TEST_TOKEN"], env: ["GTR_TEST_TOKEN": token]) { base in
            let none = try request(base + "/reset", method: "POST", body: "{}")
            #expect(none.status == 401 && none.json["error"]?["code"] == .string("UNAUTHORIZED"))
            let wrong = try request(base + "/metadata", headers: ["Authorization": "Bearer " + token + "x"])
            #expect(wrong.status == 401)
            #expect(!(wrong.json.serialized().contains(token)))
            let ok = try request(base + "/reset", method: "POST", body: "{}", headers: ["Authorization": "Bearer " + token])
            #expect(ok.status == 200)
            #expect(try request(base + "/health").status == 200)  // health stays open for load balancers
        }
    }

    @Test func limitsAnswerWithTheirOwnCodes() throws {
        try withServer(["max_sessions=2", "max_message=1024"]) { base in
            _ = try request(base + "/reset", method: "POST", body: "{}")
            _ = try request(base + "/reset", method: "POST", body: "{}")
            let third = try request(base + "/reset", method: "POST", body: "{}")
            #expect(third.status == 503 && third.json["error"]?["code"] == .string("CAPACITY_REACHED"))
            let big = try request(base + "/reset", method: "POST", body: #"{"x": ""# + String(repeating: "a", count: 5000) + #""}"#)
            #expect(big.status == 413 && big.json["error"]?["code"] == .string("MESSAGE_TOO_LARGE"))
        }
    }

    @Test func anIdleSessionIsClosedAfterItsTimeout() throws {
        try withServer(["idle_timeout=1"]) { base in
            let r = try request(base + "/reset", method: "POST", body: "{}")
            let id = try #require(r.json["metadata"]?["session_id"]?.stringValue)
            #expect(try request(base + "/state?session_id=\(id)").status == 200)
            Thread.sleep(forTimeInterval: 3.5)
            let gone = try request(base + "/state?session_id=\(id)")
            #expect(gone.status == 404 && gone.json["error"]?["code"] == .string("SESSION_ERROR"))
            #expect(try request(base + "/health").json["sessions"] == .number(0))
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
