import Environments
import Episodes
import Foundation
import Support
import SessionLog
import Testing
@testable import Serving

/// A temp folder per test.
func tempHome(_ name: String = #function) -> String {
    let d = FileManager.default.temporaryDirectory.appendingPathComponent("gtr-serving-\(name.filter(\.isLetter))-\(UUID().uuidString.prefix(8))")
    try? FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
    return d.path
}

func session(log: Bool = false, rate: Double = 0, home: String = tempHome()) -> ServedSession {
    var c = ServeConfig(home: home)
    c.log = log
    c.rate = rate
    return ServedSession(id: "test", client: "tests", peer: "local", transport: "test", config: c, seed: 1)
}

func data(_ json: String) -> JSONValue { try! JSONParser.parse(json) }

func expectServeError(_ code: ServeError.Code, _ body: () throws -> Void) {
    do { try body(); Issue.record("expected \(code.rawValue)") } catch let error as ServeError {
        #expect(error.code == code, "\(error)")
        #expect(!error.message.contains("\n"))
    } catch { Issue.record("not a ServeError: \(error)") }
}

@Suite struct ServedSessionTests {
    @Test func aServedEpisodeEqualsTheSameSeedPlayedDirectly() throws {
        let s = session()
        let r = try s.handle(type: "reset", data: data(#"{"env": "points24", "seed": 11}"#))
        #expect(r.type == "observation")
        let direct = try EpisodeSession(env: Points24(), number: 1, seed: 11, options: [:])
        #expect(r.data["observation"]?["text"]?.stringValue == direct.env.textObservation)
        #expect(r.data["observation"]?["prompt"]?.stringValue == direct.env.prompt(thoughts: true))
        #expect(r.data["reward"] == .null)
        #expect(r.data["done"] == .bool(false))
        // the frame is the env's frame as PNG
        let b64 = try #require(r.data["observation"]?["frame"]?.stringValue)
        #expect(Data(base64Encoded: b64) == Data(PNG.encodeFast(direct.env.frame)))
        var rng = SeededRNG(seed: 5)
        while !direct.isDone {
            let a = direct.env.legalActions.randomElement(using: &rng)!
            let want = try direct.apply(.action(a), source: .script)
            let got = try s.handle(type: "step", data: .object([("action", .string(a))])).data
            #expect(got["reward"] == .number(want.reward))
            #expect(got["done"] == .bool(want.done))
            #expect(got["observation"]?["text"]?.stringValue == want.observation)
            #expect(got["observation"]?["info"] == direct.env.info)
            #expect(got["observation"]?["truncated"] == .bool(want.truncated))
        }
        let st = try s.handle(type: "state", data: nil)
        #expect(st.type == "state")
        #expect(st.data["step_count"] == .number(Double(direct.stepCount)))
        #expect(st.data["done"] == .bool(true))
    }

    @Test func badRequestsGetTypedOneLineErrors() throws {
        let s = session()
        expectServeError(.session) { _ = try s.handle(type: "step", data: data(#"{"action": "10"}"#)) }
        expectServeError(.validation) { _ = try s.handle(type: "reset", data: data(#"{"env": "pointz24"}"#)) }
        expectServeError(.validation) { _ = try s.handle(type: "reset", data: data(#"{"seed": -3}"#)) }
        expectServeError(.validation) { _ = try s.handle(type: "reset", data: data(#"{"seed": "x"}"#)) }
        expectServeError(.validation) { _ = try s.handle(type: "reset", data: data(#"{"max_steps": {"a": 1}}"#)) }
        expectServeError(.validation) { _ = try s.handle(type: "reset", data: data(#"{"frames": "yes"}"#)) }
        expectServeError(.validation) { _ = try s.handle(type: "reset", data: data(#"{"bogus_option": 3}"#)) }
        expectServeError(.unknownType) { _ = try s.handle(type: "fly", data: nil) }
        _ = try s.handle(type: "reset", data: data(#"{"seed": 3, "cards": ["HA", "S2", "D3", "C4"]}"#))
        expectServeError(.validation) { _ = try s.handle(type: "step", data: data(#"{"action": "99"}"#)) }
        expectServeError(.validation) { _ = try s.handle(type: "step", data: data(#"{"action": "1", "text": "x"}"#)) }
        expectServeError(.validation) { _ = try s.handle(type: "step", data: data(#"{"action": 1}"#)) }
        expectServeError(.validation) { _ = try s.handle(type: "step", data: data(#"[1]"#)) }
        // the session is still fine after every error
        let ok = try s.handle(type: "step", data: data(#"{"action": "1"}"#))
        #expect(ok.data["observation"]?["t"] == .number(1))
    }

    @Test func aStepAfterTheEndIsRefusedUntilTheNextReset() throws {
        let s = session()
        _ = try s.handle(type: "reset", data: data(#"{"env": "blackjack", "seed": 2}"#))
        let r = try s.handle(type: "step", data: data(#"{"action": "stand"}"#))
        #expect(r.data["done"] == .bool(true))
        expectServeError(.execution) { _ = try s.handle(type: "step", data: data(#"{"action": "stand"}"#)) }
        expectServeError(.execution) { _ = try s.handle(type: "expert", data: nil) }
        let again = try s.handle(type: "reset", data: nil)
        #expect(again.data["observation"]?["episode"] == .number(2))
        #expect(again.data["metadata"]?["options"] == .object([]))
    }

    @Test func rawModelOutputsGoThroughGTRParsing() throws {
        let s = session()
        _ = try s.handle(type: "reset", data: data(#"{"seed": 4, "cards": "H2,S3,D4,C5"}"#))
        let good = try s.handle(type: "step", data: .object([("text", .string(#"{"cards": [2, 3, 4, 5], "formula": "2", "thoughts": "t", "action": "2"}"#))]))
        #expect(good.data["observation"]?["action"] == .string("2"))
        #expect(good.data["observation"]?["invalid"] == .bool(false))
        let bad = try s.handle(type: "step", data: .object([("text", .string("no idea"))]))
        #expect(bad.data["observation"]?["invalid"] == .bool(true))
        #expect(bad.data["observation"]?["action"] == .string("(invalid)"))
    }

    @Test func theExpertSolvesAHouseholdTaskAndTheOracleJudgesItsThoughts() throws {
        let s = session()
        let r0 = try s.handle(type: "reset", data: data(#"{"env": "household", "seed": 7, "frames": false}"#))
        #expect(r0.data["observation"]?["env"] == .string("alfworld"))
        #expect(r0.data["observation"]?["frame"] == .null)
        var done = false, steps = 0, ret = 0.0
        while !done && steps < 60 {
            let e = try s.handle(type: "expert", data: nil).data
            let action = try #require(e["action"]?.stringValue)
            let output = try #require(e["output"]?.stringValue)
            let legal = try s.handle(type: "state", data: nil)
            _ = legal
            let verdict = try s.handle(type: "correct", data: .object([("thought", .string(output))])).data
            #expect(verdict["verdict"] == .string("YES"), "the expert's own thought at step \(steps)")
            let r = try s.handle(type: "step", data: .object([("action", .string(action))])).data
            done = r["done"] == .bool(true)
            ret = r["observation"]?["episode_return"]?.numberValue ?? 0
            steps += 1
        }
        #expect(done && ret > 0, "the expert finishes the task (return \(ret) in \(steps) steps)")
    }

    @Test func theOracleCorrectsAWrongPoints24ThoughtAndKeepsATarget() throws {
        let s = session()
        _ = try s.handle(type: "reset", data: data(#"{"seed": 1, "cards": "HA,S2,D3,C4"}"#))
        let wrong = #"{"cards": [1, 2, 3, 4], "formula": "1+", "thoughts": "I add 9.", "action": "9"}"#
        let r = try s.handle(type: "correct", data: .object([("thought", .string(wrong))])).data
        #expect(r["verdict"] == .string("NO"))
        #expect(r["corrected_thought"] != .null)
        #expect(r["target_formula"]?.stringValue?.isEmpty == false)
        let st = try s.handle(type: "state", data: nil).data
        #expect(st["target_formula"] == r["target_formula"])
        expectServeError(.validation) { _ = try s.handle(type: "correct", data: .object([("thought", .string("not json"))])) }
        expectServeError(.validation) { _ = try s.handle(type: "correct", data: nil) }
    }

    @Test func theRateLimitRefusesABurstBeyondIt() throws {
        let s = session(rate: 5)
        var refused = 0
        for _ in 0..<20 {
            do throws(ServeError) { _ = try s.handle(type: "state", data: nil) } catch {
                #expect(error.code == .rateLimited)
                refused += 1
            }
        }
        #expect(refused >= 10, "\(refused) of 20 refused at rate=5")
    }

    @Test func aServedSessionIsLoggedAsItsOwnGtrSession() throws {
        let home = tempHome()
        let s = session(log: true, home: home)
        _ = try s.handle(type: "reset", data: data(#"{"seed": 3}"#))
        _ = try s.handle(type: "step", data: data(#"{"action": "1"}"#))
        _ = try? s.handle(type: "step", data: data(#"{"action": "zzz"}"#))
        let id = s.logSessionID
        s.close()
        #expect(id > 0)
        let c = try SQLiteConnection(path: home + "/gtr.sqlite", readOnly: true)
        defer { c.close() }
        #expect(try c.rows("SELECT text, status FROM commands WHERE session_id=\(id) ORDER BY seq") ==
                [["env points24 seed=3", "ok"], ["act \"1\"", "ok"]])
        #expect(try c.rows("SELECT action, source FROM steps WHERE session_id=\(id)") == [["1", "script"]])
        #expect(try c.rows("SELECT config LIKE '%\"served\":true%' FROM sessions WHERE id=\(id)") == [["1"]])
    }
}

extension SQLiteConnection {
    /// Rows as text, for comparisons.
    func rows(_ sql: String) throws -> [[String]] { try query(sql).rows.map { $0.map(\.description) } }
}
