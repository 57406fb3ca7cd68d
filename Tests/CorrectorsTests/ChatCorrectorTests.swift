import Foundation
import LoopbackHTTP
import Support
import Synchronization
import Testing
@testable import Correctors
import Environments

/// Records the waits a corrector asks for instead of spending them.
final class Sleeps: Sendable {
    let values = Mutex<[Double]>([])
    var all: [Double] { values.withLock { $0 } }
    func record(_ s: Double) { values.withLock { $0.append(s) } }
}

let goodContent = """
{"answer1": "4, 6, 2 and 3", "answer2": "yes", "answer3": "4*6*(3-2)", "answer4": "'4'", "evaluation": "NO", \
"possible_solution": "YES", "target_formula": "4 * 6 * (3 - 2) = 24", \
"correction": {"cards": [4, 6, 2, 3], "formula": "", "thoughts": "4*6*(3-2) = 24, start with 4"}}
"""

/// Key-handling tests set an environment variable, so the suite runs serially.
@Suite(.serialized) struct ChatCorrectorTests {
    static let keyVar = "GTR_TEST_CHAT_KEY"
    static let key = "sk-test-\(UUID().uuidString)"

    func corrector(_ server: LoopbackServer, configure: (inout ChatConfig) -> Void = { _ in }) throws -> (ChatCorrector, Sleeps) {
        setenv(Self.keyVar, Self.key, 1)
        var c = ChatConfig(baseURL: server.baseURL, model: "test-model", keyEnv: Self.keyVar)
        c.connectTimeout = 2; c.totalTimeout = 5
        configure(&c)
        let chat = try ChatCorrector(config: c)
        let sleeps = Sleeps()
        chat.sleep = { sleeps.record($0) }
        return (chat, sleeps)
    }

    func p24Request(target: String? = nil) throws -> CorrectionRequest {
        try request(try points24(), p24Output(cards: "[4, 6, 2, 3]", formula: "", thoughts: "4+6+2+3 is 24", action: "6"), target: target)
    }

    @Test func normalReplyIsParsedAndTheRequestIsWellFormed() throws {
        let server = try LoopbackServer { _, _ in ScriptedResponse(text: chatReply(content: goodContent)) }
        defer { server.stop() }
        let (chat, _) = try corrector(server)
        let reply = try chat.correct(try p24Request(target: "4*6*(3-2)"))
        #expect(reply.failure == nil)
        #expect(reply.verdict == .incorrect)
        #expect(reply.answers.count == 4 && reply.answers[0] == "4, 6, 2 and 3")
        #expect(reply.possibleSolution == true)
        #expect(reply.targetFormula == "4*6*(3-2)")   // normalised
        #expect(reply.correction?["action"]?.stringValue == "6")   // the agent's own action, appended
        #expect(reply.promptTokens == 100 && reply.completionTokens == 50)
        #expect(abs(reply.cost - (100 * 2.5 + 50 * 10) / 1e6) < 1e-12)
        let req = try #require(server.requests.first)
        #expect(req.method == "POST" && req.path == "/v1/chat/completions")
        #expect(req.headers["authorization"] == "Bearer \(Self.key)")
        let body = try JSONParser.parse(req.text)
        #expect(body["model"]?.stringValue == "test-model")
        #expect(body["response_format"]?["type"]?.stringValue == "json_object")
        #expect(body["tools"] == nil, "no tool once the target is determined")
        guard case let .array(msgs)? = body["messages"], case let .array(parts)? = msgs[1]["content"] else { Issue.record("no messages"); return }
        #expect(msgs[0]["role"]?.stringValue == "system")
        let user = parts[0]["text"]?.stringValue ?? ""
        #expect(user.contains("[Thought] {\"cards\":[4,6,2,3],\"formula\":\"\",\"thoughts\":\"4+6+2+3 is 24\"}"))
        #expect(user.contains("[Target Formula] '4*6*(3-2)'") && user.contains("[Current Formula] ''"))
        let url = parts[1]["image_url"]?["url"]?.stringValue ?? ""
        #expect(url.hasPrefix("data:image/png;base64,"))
        let png = try #require(Data(base64Encoded: String(url.dropFirst("data:image/png;base64,".count))))
        #expect(Array(png.prefix(8)) == [137, 80, 78, 71, 13, 10, 26, 10])
    }

    @Test func toolCallRoundTrip() throws {
        let server = try LoopbackServer { _, i in
            ScriptedResponse(text: i == 0 ? toolCallReply(cards: ["4", "6", "2", "3"]) : chatReply(content: goodContent))
        }
        defer { server.stop() }
        let (chat, _) = try corrector(server)
        let reply = try chat.correct(try p24Request())
        #expect(reply.failure == nil && reply.verdict == .incorrect)
        #expect(server.requests.count == 2)
        let first = try JSONParser.parse(server.requests[0].text)
        #expect(first["tools"]?.serialized().contains("find_all_correct_formulas") == true)
        #expect(first["parallel_tool_calls"] == .bool(false))
        let second = try JSONParser.parse(server.requests[1].text)
        #expect(second["tools"] == nil)
        guard case let .array(msgs)? = second["messages"] else { Issue.record("no messages"); return }
        #expect(msgs.count == 4)
        #expect(msgs[2]["tool_calls"] != nil)
        // The assistant turn goes back with string content (llama.cpp's server refuses null) and no function_call.
        #expect(msgs[2]["content"] == .string("") && msgs[2]["function_call"] == nil)
        #expect(msgs[3]["role"]?.stringValue == "tool" && msgs[3]["tool_call_id"]?.stringValue == "call_1")
        #expect(msgs[3]["content"]?.stringValue == Solver.points24.solutions([4, 6, 2, 3]).map(\.text).joined(separator: ", "))
        #expect(reply.promptTokens == 180 && reply.completionTokens == 70)
    }

    @Test func serverErrorThenSuccessIsRetriedWithBackoff() throws {
        let server = try LoopbackServer { _, i in
            i < 2 ? ScriptedResponse(status: 500, text: "{\"error\": {\"message\": \"overloaded\"}}") : ScriptedResponse(text: chatReply(content: goodContent))
        }
        defer { server.stop() }
        let (chat, sleeps) = try corrector(server) { $0.images = .on }  // (with auto, a first 500 means "try text")
        let reply = try chat.correct(try p24Request(target: "4*6*(3-2)"))
        #expect(reply.failure == nil && reply.verdict == .incorrect)
        #expect(reply.attempts == 3)
        let s = sleeps.all
        #expect(s.count == 2)
        // Full jitter over 0.5 s · 2^k: the k-th wait lies in [d/2, d].
        #expect(s[0] >= 0.25 && s[0] <= 0.5 && s[1] >= 0.5 && s[1] <= 1.0)
    }

    @Test func tooManyRequestsHonoursRetryAfter() throws {
        let server = try LoopbackServer { _, i in
            i == 0 ? ScriptedResponse(status: 429, headers: [("Retry-After", "7")], text: "{}") : ScriptedResponse(text: chatReply(content: goodContent))
        }
        defer { server.stop() }
        let (chat, sleeps) = try corrector(server)
        let reply = try chat.correct(try p24Request(target: "4*6*(3-2)"))
        #expect(reply.failure == nil)
        #expect(sleeps.all == [7])
    }

    @Test func retryAfterBeyondTheLimitFails() throws {
        let server = try LoopbackServer { _, _ in ScriptedResponse(status: 429, headers: [("Retry-After", "3600")], text: "{}") }
        defer { server.stop() }
        let (chat, _) = try corrector(server)
        let reply = try chat.correct(try p24Request(target: "x"))
        #expect(reply.verdict == .none)
        #expect(reply.failure?.contains("Retry-After 3600") == true)
    }

    @Test func timeoutIsRetriedThenRecordedAsNoCorrection() throws {
        let server = try LoopbackServer { _, _ in ScriptedResponse(text: chatReply(content: goodContent), delay: 1.5) }
        defer { server.stop() }
        let (chat, sleeps) = try corrector(server) { $0.totalTimeout = 0.2; $0.maxRetries = 1 }
        let reply = try chat.correct(try p24Request(target: "x"))
        #expect(reply.verdict == .none && reply.correction == nil)
        #expect(reply.failure?.contains("timed out") == true)
        #expect(reply.attempts == 2 && sleeps.all.count == 1)
    }

    @Test func malformedRepliesAreRetriedABoundedNumberOfTimes() throws {
        let server = try LoopbackServer { _, _ in ScriptedResponse(text: chatReply(content: "Sure! The thought is wrong.")) }
        defer { server.stop() }
        let (chat, _) = try corrector(server)
        let reply = try chat.correct(try p24Request(target: "x"))
        #expect(reply.verdict == .none)
        #expect(reply.failure?.contains("malformed reply after 3 tries") == true)
        #expect(server.requests.count == 3)
    }

    @Test func malformedThenGoodSucceeds() throws {
        let server = try LoopbackServer { _, i in
            ScriptedResponse(text: chatReply(content: i == 0 ? "{\"answer1\": \"no evaluation\"}" : goodContent))
        }
        defer { server.stop() }
        let (chat, _) = try corrector(server)
        let reply = try chat.correct(try p24Request(target: "x"))
        #expect(reply.failure == nil && reply.verdict == .incorrect)
        #expect(server.requests.count == 2)
    }

    @Test func emptyBodyAndNonJSONBody() throws {
        for body in ["", "<html>bad gateway</html>", "{\"choices\": []}"] {
            let server = try LoopbackServer { _, _ in ScriptedResponse(text: body) }
            defer { server.stop() }
            let (chat, _) = try corrector(server) { $0.malformedRetries = 1 }
            let reply = try chat.correct(try p24Request(target: "x"))
            #expect(reply.verdict == .none, "\(body)")
            #expect(reply.failure?.contains("malformed") == true, "\(body): \(reply.failure ?? "")")
            #expect(server.requests.count == 2)
        }
    }

    @Test func veryLargeBodyIsAbortedNotBuffered() throws {
        let big = [UInt8](repeating: UInt8(ascii: "a"), count: 20 << 20)
        let server = try LoopbackServer { _, _ in ScriptedResponse(body: big) }
        defer { server.stop() }
        let (chat, _) = try corrector(server) { $0.malformedRetries = 0 }
        let reply = try chat.correct(try p24Request(target: "x"))
        #expect(reply.verdict == .none)
        #expect(reply.failure?.contains("larger than 8 MiB") == true)
    }

    @Test func clientErrorsAreNotRetriedAndTheKeyIsRedacted() throws {
        let server = try LoopbackServer { req, _ in
            // A server that echoes the key it was given in its error message.
            ScriptedResponse(status: 401, text: "{\"error\": {\"message\": \"Incorrect API key provided: \(req.headers["authorization"] ?? "")\"}}")
        }
        defer { server.stop() }
        let (chat, sleeps) = try corrector(server)
        let reply = try chat.correct(try p24Request(target: "x"))
        #expect(reply.verdict == .none && reply.attempts == 1 && sleeps.all.isEmpty)
        let f = try #require(reply.failure)
        #expect(f.contains("HTTP 401") && f.contains("[redacted]"))
        #expect(!f.contains(Self.key) && !reply.rawReply.contains(Self.key) && !reply.prompt.contains(Self.key))
        #expect(!chat.identity.contains(Self.key))
    }

    @Test func requestsPerMinuteSpacesRequests() throws {
        let server = try LoopbackServer { _, _ in ScriptedResponse(text: chatReply(content: goodContent)) }
        defer { server.stop() }
        let (chat, sleeps) = try corrector(server) { $0.requestsPerMinute = 60 }
        for _ in 0..<3 { _ = try chat.correct(try p24Request(target: "x")) }
        // Slots one second apart: the second and third requests wait (the sleeps are recorded, not spent).
        #expect(sleeps.all.count == 2)
        #expect(sleeps.all.allSatisfy { $0 > 0.9 })
    }

    @Test func connectionRefusedIsAFailureNotACrash() throws {
        setenv(Self.keyVar, Self.key, 1)
        var c = ChatConfig(baseURL: "http://127.0.0.1:9/v1", model: "m", keyEnv: Self.keyVar)
        c.maxRetries = 1
        let chat = try ChatCorrector(config: c)
        chat.sleep = { _ in }
        let reply = try chat.correct(try p24Request(target: "x"))
        #expect(reply.verdict == .none && reply.failure?.contains("cannot connect") == true)
    }

    @Test func configurationErrors() {
        #expect(throws: CorrectorError.self) { try ChatCorrector(config: ChatConfig(baseURL: "ftp://x", model: "m")) }
        #expect(throws: CorrectorError.self) { try ChatCorrector(config: ChatConfig(baseURL: "http://127.0.0.1:1/v1", model: "")) }
        #expect(throws: CorrectorError.self) { try ChatCorrector(config: ChatConfig(baseURL: "http://127.0.0.1:1/v1", model: "m", keyEnv: "GTR_SURELY_UNSET_VAR")) }
        #expect(ChatConfig(baseURL: "http://h/v1/", model: "m").endpoint == "http://h/v1/chat/completions")
        #expect(ChatCorrector.retryAfterSeconds("12") == 12)
        #expect(ChatCorrector.retryAfterSeconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0)
    }
}
