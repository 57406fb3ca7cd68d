import Foundation
import Testing
import Support
import LoopbackHTTP
@testable import Agents

/// The remote agent against a scripted OpenAI-compatible server on 127.0.0.1: log-probs token by token, the
/// thought/action split, the `images=auto` probe, bounded retries, one-line errors, and no key anywhere.
@Suite(.serialized) struct RemotePolicyTests {
    static let answer = "{\"thoughts\": \"3 * 8 = 24\", \"action\": \"3\"}"
    static let pieces = ["{\"", "thoughts", "\":", " \"", "3", " *", " 8", " =", " 24", "\",", " \"", "action", "\":", " \"", "3", "\"}"]

    /// A reply with per-token log-probs (llama.cpp's and OpenAI's shape).
    static func withLogProbs(_ pieces: [String], finish: String = "stop") -> String {
        let content = JSONValue.string(pieces.joined()).serialized()
        let items = pieces.enumerated().map { k, p in "{\"token\":\(JSONValue.string(p).serialized()),\"logprob\":\(-0.1 * Double(k + 1)),\"bytes\":null}" }
        return "{\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\(content)},\"logprobs\":{\"content\":[\(items.joined(separator: ","))]},\"finish_reason\":\"\(finish)\"}]}"
    }

    func input(_ prompt: String = "play", image: RGBImage = RGBImage(width: 4, height: 4)) -> AgentInput { AgentInput(image: image, prompt: prompt) }

    @Test func logProbsAndTheSplitComeTokenByToken() throws {
        let server = try LoopbackServer { req, _ in
            if req.text.contains("2 + 3") { return ScriptedResponse(text: Self.withLogProbs(["5"])) }
            return ScriptedResponse(text: Self.withLogProbs(Self.pieces))
        }
        defer { server.stop() }
        let m = try RemotePolicy(config: .init(baseURL: server.baseURL, model: "m"))
        try m.probe()
        #expect(m.readsImages && m.returnsLogProbs)
        let outs = try m.generate([input(), input()], config: GenerationConfig(temperature: 0.5, maxNewTokens: 50, seed: 7))
        #expect(outs.count == 2)
        let o = outs[0]
        #expect(o.text == Self.answer && o.finished)
        #expect(o.tokenIDs.count == Self.pieces.count + 1 && o.tokenIDs.last == m.endOfText)
        #expect(m.decode(o.tokenIDs) == Self.answer)
        #expect(abs(o.tokenLogProbs[0] + 0.1) < 1e-6 && abs(o.tokenLogProbs[15] + 1.6) < 1e-5)
        // the action starts at the token holding the quote of "action"
        #expect(o.spans.actionTokenStart == 10 && o.spans.hasAction)
        let thought = o.tokenLogProbs[..<10].reduce(0, +)
        #expect(abs(o.thoughtLogProb - thought) < 1e-5)
        // the requests: temperature, seeds per row, the image part, log-probs asked for
        let gens = server.requests.filter { !$0.text.contains("2 + 3") }
        #expect(gens.count == 2)
        let bodies = try gens.map { try JSONParser.parse($0.text) }
        #expect(Set(bodies.compactMap { $0["seed"]?.numberValue }) == [7, 8])
        #expect(bodies.allSatisfy { $0["logprobs"] == .bool(true) && $0["temperature"]?.numberValue == 0.5 })
        #expect(gens[0].text.contains("image_url") && gens[0].text.contains("data:image/png;base64,"))
        #expect(throws: AgentError.self) { _ = try m.evaluate(input(), outputTokens: o.tokenIDs, lambda: 0.5, temperature: 1) }
        #expect(throws: AgentError.self) { _ = try m.generate([input()], prefixes: [m.encode("{\"thoughts\"")], config: GenerationConfig()) }
    }

    @Test func withoutLogProbsTheSplitIsKnownAndTheProbabilitiesAreNot() throws {
        let server = try LoopbackServer { _, _ in ScriptedResponse(text: chatReply(content: Self.answer)) }
        defer { server.stop() }
        var c = RemotePolicy.Config(baseURL: server.baseURL, model: "m")
        c.images = .off
        let m = try RemotePolicy(config: c)
        try m.probe()
        #expect(!m.readsImages && !m.returnsLogProbs)
        let o = try m.generate([input()], config: GenerationConfig())[0]
        #expect(o.text == Self.answer && o.tokenIDs.count == 3 && o.spans.actionTokenStart == 1)
        #expect(m.decode(Array(o.tokenIDs[1...])) == "\"action\": \"3\"}")
        #expect(o.tokenLogProbs.allSatisfy { $0.isNaN })
        #expect(!server.requests.contains { $0.text.contains("image_url") })
    }

    @Test func imagesAutoFallsBackToTextWhenRefusedOrWhenTheTurnIsDropped() throws {
        // refused: HTTP 500 for a list-of-parts turn (a text-only chat template)
        let refusing = try LoopbackServer { req, _ in
            req.text.contains("image_url") ? ScriptedResponse(status: 500, text: "{\"detail\":\"can only concatenate str (not \\\"list\\\") to str\"}")
                : ScriptedResponse(text: chatReply(content: "5"))
        }
        defer { refusing.stop() }
        let a = try RemotePolicy(config: .init(baseURL: refusing.baseURL, model: "m"))
        try a.probe()
        #expect(!a.readsImages)
        #expect(a.notes.contains { $0.contains("refused an image part") && $0.contains("can only concatenate") })
        // dropped: the template silently loses the user turn, so the test question goes unanswered
        let dropping = try LoopbackServer { req, _ in
            ScriptedResponse(text: chatReply(content: req.text.contains("image_url") ? "Hello! How can I help?" : "5"))
        }
        defer { dropping.stop() }
        let b = try RemotePolicy(config: .init(baseURL: dropping.baseURL, model: "m"))
        try b.probe()
        #expect(!b.readsImages && b.notes.contains { $0.contains("missed a test question") })
    }

    @Test func failuresAreOneLineBoundedAndRedacted() throws {
        let key = "sk-secret-\(UUID().uuidString)"
        setenv("GTR_REMOTE_TEST_KEY", key, 1)
        defer { unsetenv("GTR_REMOTE_TEST_KEY") }
        // transient errors are retried (twice), then reported with the server's words and without the key
        let flaky = try LoopbackServer { req, i in
            if req.text.contains("2 + 3") { return ScriptedResponse(text: chatReply(content: "5")) }
            return ScriptedResponse(status: 503, text: "{\"error\":{\"message\":\"overloaded\\nbad key \(key)\"}}")
        }
        defer { flaky.stop() }
        var c = RemotePolicy.Config(baseURL: flaky.baseURL, model: "m", keyEnv: "GTR_REMOTE_TEST_KEY")
        c.images = .off
        let m = try RemotePolicy(config: c)
        try m.probe()
        #expect(flaky.requests.allSatisfy { $0.headers["authorization"] == "Bearer \(key)" })
        do { _ = try m.generate([input()], config: GenerationConfig()); Issue.record("a 503 passed") } catch let e as AgentError {
            let text = e.description
            #expect(text.contains("HTTP 503") && text.contains("overloaded") && !text.contains(key) && !text.contains("\n"), "\(text)")
        }
        #expect(flaky.requests.filter { !$0.text.contains("2 + 3") }.count == 3)
        // 4xx is not retried
        let refusing = try LoopbackServer { _, _ in ScriptedResponse(status: 401, text: "{\"error\":{\"message\":\"invalid api key\"}}") }
        defer { refusing.stop() }
        var c2 = RemotePolicy.Config(baseURL: refusing.baseURL, model: "m"); c2.images = .off
        let r = try RemotePolicy(config: c2)
        do { try r.probe(); Issue.record("a 401 passed") } catch let e as AgentError { #expect(e.description.contains("HTTP 401: invalid api key")) }
        #expect(refusing.requests.count == 1)
        // a server that never answers costs at most the configured time
        let slow = try LoopbackServer { _, _ in ScriptedResponse(text: chatReply(content: "5"), delay: 30) }
        defer { slow.stop() }
        var c3 = RemotePolicy.Config(baseURL: slow.baseURL, model: "m"); c3.images = .off; c3.totalTimeout = 2
        let s = try RemotePolicy(config: c3)
        let t0 = Date()
        #expect(throws: AgentError.self) { try s.probe() }
        #expect(Date().timeIntervalSince(t0) < 10)
        // bad configuration is refused before any request
        #expect(throws: AgentError.self) { _ = try RemotePolicy(config: .init(baseURL: "ftp://x", model: "m")) }
        #expect(throws: AgentError.self) { _ = try RemotePolicy(config: .init(baseURL: "http://127.0.0.1:1/v1", model: "m", keyEnv: "GTR_UNSET_VAR_X")) }
    }
}
