import Correctors
import Environments
import Foundation
import Support
import Synchronization
import LoopbackHTTP

/// Corrector speed (issue 6): oracle corrections per second on varied Points24 states, the cost of the cache
/// key, the size of the frame a chat request carries, and chat-corrector round trips per second against a local
/// OpenAI-style server at concurrency 1 and 4.
enum CorrectorBench {
    /// Points24 states a few expert moves into random solvable deals, each with a thought (half of them wrong).
    static func requests(_ n: Int) throws -> [CorrectionRequest] {
        var rng = SeededRNG(seed: 11)
        var out: [CorrectionRequest] = []
        for i in 0..<n {
            let e = Points24()
            try e.reset(seed: UInt64(i), options: ["solvable_only": "true"])
            for _ in 0..<rng.int(in: 0...4) {
                let a = try Expert.answer(e, rng: &rng)
                if e.isDone || a.action == "=" { break }
                _ = try e.step(a.action)
            }
            var a = try Expert.answer(e, rng: &rng)
            if i % 2 == 1 { a.text = a.text.replacingOccurrences(of: "\"cards\": [", with: "\"cards\": [1, ") }
            out.append(try CorrectionRequest.from(env: e, output: a.text, targetFormula: nil))
        }
        return out
    }

    static func rows() throws -> [(String, String, String)] {
        var rows: [(String, String, String)] = []
        let reqs = try requests(400)
        let oracle = OracleCorrector()
        var verdicts = 0
        let t = try time { for r in reqs { verdicts += try oracle.correct(r).verdict == .correct ? 1 : 0 } }
        rows.append(("oracle corrections/s (points24, 400 states, half with wrong cards)", String(format: "%.0f", Double(reqs.count) / t),
                     "\(verdicts) judged correct; includes solver and expert text"))
        let th = time { for r in reqs.prefix(100) { _ = oracle.requestHash(r) } }
        rows.append(("cache key per request (SHA-256 of prompt + 300×300 frame)", String(format: "%.2f ms", th / 100 * 1000), "request hash"))

        // What one request carries: the frame as a PNG, base64 in a data URL (the encode runs once per request).
        let frames = reqs.prefix(50).map(\.image)
        var pngBytes = 0, base64Bytes = 0
        let te = time {
            for f in frames {
                let png = PNG.encode(f)
                pngBytes += png.count; base64Bytes += Data(png).base64EncodedString().utf8.count
            }
        }
        rows.append(("frame sent to a chat endpoint (KiB, base64 PNG)",
                     String(format: "%.1f KiB PNG, %.1f KiB base64", Double(pngBytes) / Double(frames.count) / 1024,
                            Double(base64Bytes) / Double(frames.count) / 1024),
                     String(format: "Points24 300×300, mean of %d states; encode %.2f ms per frame (row filters + zlib level 6)",
                            frames.count, te / Double(frames.count) * 1000)))

        let content = "{\"answer1\": \"a\", \"answer2\": \"b\", \"answer3\": \"c\", \"answer4\": \"d\", \"evaluation\": \"NO\", "
            + "\"possible_solution\": \"YES\", \"target_formula\": \"4*6*(3-2)\", \"correction\": {\"cards\": [4, 6, 2, 3], \"formula\": \"\", \"thoughts\": \"t\"}}"
        let body = chatReply(content: content)
        let server = try LoopbackServer { _, _ in ScriptedResponse(text: body) }
        defer { server.stop() }
        var cfg = ChatConfig(baseURL: server.baseURL, model: "bench")
        cfg.maxRetries = 0
        let chat = try ChatCorrector(config: cfg)
        nonisolated(unsafe) let sample = Array(reqs.prefix(8)).map { r -> CorrectionRequest in var r = r; r.targetFormula = "x"; return r }
        _ = try chat.correct(sample[0])  // warm-up
        for concurrency in [1, 4] {
            let perWorker = 160 / concurrency
            let failures = Mutex(0)
            let elapsed = time {
                DispatchQueue.concurrentPerform(iterations: concurrency) { w in
                    for k in 0..<perWorker {
                        let r = (try? chat.correct(sample[(w + k) % sample.count]))
                        if r?.failure != nil || r == nil { failures.withLock { $0 += 1 } }
                    }
                }
            }
            rows.append(("chat corrector requests/s, concurrency \(concurrency) (local server)", String(format: "%.0f", 160 / elapsed),
                         "frame as base64 PNG (\(Data(PNG.encode(sample[0].image)).base64EncodedString().utf8.count / 1024) KiB) each; \(failures.withLock { $0 }) failures; server on the same 2 cores"))
        }
        return rows
    }
}
