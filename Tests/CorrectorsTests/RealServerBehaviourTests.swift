import Foundation
import LoopbackHTTP
import Support
import Testing
@testable import Correctors
import Environments

/// Issue 17 §7: what real OpenAI-compatible servers do (llama.cpp's, vLLM's), scripted on the loopback server.
@Suite(.serialized) struct RealServerBehaviourTests {
    func corrector(_ server: LoopbackServer, _ configure: (inout ChatConfig) -> Void = { _ in }) throws -> ChatCorrector {
        var c = ChatConfig(baseURL: server.baseURL, model: "m-\(UUID().uuidString.prefix(6))")
        c.connectTimeout = 2; c.totalTimeout = 5
        configure(&c)
        let chat = try ChatCorrector(config: c)
        chat.sleep = { _ in }
        return chat
    }

    func p24() throws -> CorrectionRequest {
        try request(try points24(), p24Output(cards: "[4, 6, 2, 3]", formula: "", thoughts: "4+6+2+3 is 24", action: "6"), target: "4*6*(3-2)")
    }

    /// A text-only chat template answers 500 to a list-of-parts user turn: `images=auto` asks again in text, says
    /// so, and sends text from then on.
    @Test func imagesAutoFallsBackToTextOnce() throws {
        let server = try LoopbackServer { req, _ in
            guard let v = try? JSONParser.parse(req.text), case let .array(msgs)? = v["messages"] else { return ScriptedResponse(status: 400, text: "{}") }
            if case .array? = msgs[1]["content"] { return ScriptedResponse(status: 500, text: "{\"detail\": \"can only concatenate str\\n(not list) to str\"}") }
            return ScriptedResponse(text: chatReply(content: goodContent))
        }
        defer { server.stop() }
        let chat = try corrector(server)
        let r1 = try chat.correct(try p24())
        #expect(r1.failure == nil && r1.verdict == .incorrect, "\(r1.failure ?? "")")
        #expect(r1.notes.contains { $0.contains("refused an image part") && $0.contains("can only concatenate str (not list)") })
        #expect(chat.textOnly)
        let r2 = try chat.correct(try p24())
        #expect(r2.failure == nil && r2.notes.isEmpty)
        #expect(server.requests.count == 3)  // image, text, then text directly
        let last = try JSONParser.parse(server.requests[2].text)
        guard case let .array(lastMsgs)? = last["messages"] else { Issue.record("no messages"); return }
        #expect(lastMsgs[1]["content"]?.stringValue?.contains("The image is not attached. It shows:") == true)
        // images=off never sends an image; images=on never falls back.
        let off = try corrector(server) { $0.images = .off }
        #expect(try off.correct(try p24()).failure == nil && off.textOnly)
        let on = try corrector(server) { $0.images = .on; $0.maxRetries = 0 }
        let r3 = try on.correct(try p24())
        #expect(r3.verdict == .none && r3.failure?.contains("HTTP 500") == true && !r3.failure!.contains("\n"))
    }

    @Test func notImplementedIsNotRetriedAndDetailIsReported() throws {
        let server = try LoopbackServer { _, _ in ScriptedResponse(status: 501, text: "{\"detail\": \"Not Implemented\"}") }
        defer { server.stop() }
        let chat = try corrector(server) { $0.images = .off }
        let r = try chat.correct(try p24())
        #expect(server.requests.count == 1 && r.attempts == 1)
        #expect(r.failure == "no correction: HTTP 501: Not Implemented")
    }

    /// A reply cut at max_tokens is asked again with twice the tokens; another malformed reply is sent back with
    /// what was wrong with it: never the identical request.
    @Test func malformedRepliesAreRetriedDifferently() throws {
        let server = try LoopbackServer { _, i in
            switch i {
            case 0: return ScriptedResponse(text: chatReply(content: "{\"evaluation\": \"NO\", \"corr").replacingOccurrences(of: "\"stop\"", with: "\"length\""))
            case 1: return ScriptedResponse(text: chatReply(content: "{\"evaluation\": \"maybe\"}"))
            default: return ScriptedResponse(text: chatReply(content: goodContent))
            }
        }
        defer { server.stop() }
        let chat = try corrector(server) { $0.images = .off }
        let r = try chat.correct(try p24())
        #expect(r.failure == nil && r.verdict == .incorrect)
        let bodies = try server.requests.map { try JSONParser.parse($0.text) }
        #expect(bodies.count == 3)
        #expect(bodies[0]["max_tokens"] == .number(400) && bodies[1]["max_tokens"] == .number(800))
        guard case let .array(m2)? = bodies[2]["messages"] else { Issue.record("no messages"); return }
        #expect(m2.count == 4 && m2[2]["content"]?.stringValue == "{\"evaluation\": \"maybe\"}")
        #expect(m2[3]["content"]?.stringValue?.contains("evaluation 'maybe' is neither YES nor NO") == true)
        #expect(r.notes.count == 2)
    }

    /// A key the server echoes back is redacted in every field of the reply, not only the raw text.
    @Test func anEchoedKeyIsRedactedEverywhere() throws {
        let key = "sk-echo-\(UUID().uuidString)"
        setenv("GTR_TEST_ECHO_KEY", key, 1)
        let content = """
        {"answer1": "the key is \(key)", "evaluation": "NO", "possible_solution": "YES", "target_formula": "4*6*(3-2)", \
        "correction": {"cards": [4, 6, 2, 3], "formula": "", "thoughts": "use \(key) wisely"}}
        """
        let server = try LoopbackServer { _, _ in ScriptedResponse(text: chatReply(content: content)) }
        defer { server.stop() }
        let chat = try corrector(server) { $0.images = .off; $0.keyEnv = "GTR_TEST_ECHO_KEY" }
        let r = try chat.correct(try p24())
        #expect(r.verdict == .incorrect)
        for field in [r.rawReply, r.answers.joined(), r.correction?.serialized() ?? ""] {
            #expect(!field.contains(key) && (field.isEmpty || field.contains("[redacted]") || !field.contains("sk-")), "\(field)")
        }
        #expect(r.correction?.serialized().contains("[redacted]") == true)
    }
}
