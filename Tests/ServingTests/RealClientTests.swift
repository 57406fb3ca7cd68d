import Foundation
import Testing

/// Real Python clients against the real `gtr-serve` binary: OpenEnv's stock GenericEnvClient (its transcript is
/// replayed in gtr's REPL and compared step by step), a Ray job, fault injection and a short load run
/// (`scripts/serve_*.py`, run with `.venv-serve/bin/python`; `make serve-peers` installs it). Skipped, with the
/// reason, when that venv or its packages are missing.
@Suite(.serialized) struct RealClientTests {
    // MARK: the venv and the binaries

    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let python = root.appendingPathComponent(".venv-serve/bin/python").path

    static func binary(_ name: String) -> String {
        #if DEBUG
        root.appendingPathComponent(".build/debug/\(name)").path
        #else
        root.appendingPathComponent(".build/release/\(name)").path
        #endif
    }

    /// Whether `.venv-serve/bin/python` imports every module named (checked once per set).
    static func imports(_ modules: String) -> Bool {
        guard FileManager.default.isExecutableFile(atPath: python) else { return false }
        let r = run([python, "-c", "import \(modules)"], timeout: 120)
        return r.status == 0
    }

    static let hasOpenEnv = imports("openenv.core.generic_client, websockets, gymnasium")
    static let hasRay = hasOpenEnv && imports("ray")
    static let skipReason: Comment = "needs .venv-serve with openenv-core, websockets, gymnasium (make serve-peers)"
    static let skipRayReason: Comment = "needs .venv-serve with ray (make serve-peers)"

    // MARK: tests

    @Test func gtrServeRunsTheServerAndRefusesAnExposedBindWithoutAToken() throws {
        let help = Self.run([Self.binary("gtr"), "serve", "help"], timeout: 60)
        #expect(help.status == 0 && help.stdout.contains("token_env=NAME"), "\(help.tail)")
        let exposed = Self.run([Self.binary("gtr"), "serve", "host=0.0.0.0"], timeout: 60)
        #expect(exposed.status == 2, "\(exposed.tail)")
        #expect(exposed.stderr.split(separator: "\n").count == 1 && exposed.stderr.contains("token_env="), "\(exposed.tail)")
        let secret = "do-not-echo-this-token-123"
        let short = Self.run([Self.binary("gtr"), "serve", "host=0.0.0.0", "token_env=GTR_T", "port=70000"],
                             env: ["GTR_T": secret], timeout: 60)
        #expect(short.status == 2 && !short.stderr.contains(secret) && short.stderr.contains("port="), "\(short.tail)")
    }

    @Test(.enabled(if: hasOpenEnv, skipReason))
    func openEnvGenericClientMatchesTheREPL() throws {
        let server = try RCServer.start()
        defer { server.stop() }
        let out = tempPath("openenv-transcript.json")
        defer { try? FileManager.default.removeItem(atPath: out) }
        let r = Self.script("serve_openenv_check.py", [server.url, out])
        try #require(r.status == 0, "serve_openenv_check failed: \(r.tail)")
        #expect(Self.summaryOK(r.stdout))

        let data = try Data(contentsOf: URL(fileURLWithPath: out))
        let transcript = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let episodes = try #require(transcript["episodes"] as? [[String: Any]])
        #expect(episodes.count >= 8)
        #expect(episodes.contains { $0["env"] as? String == "household" })

        let repl = try REPLTranscript.play(episodes)
        #expect(repl.count == episodes.count)
        for (k, (served, played)) in zip(episodes, repl).enumerated() {
            let env = served["env"] as? String ?? "?"
            let seed = served["seed"] as? Int ?? -1
            let label = "episode \(k) (\(env) seed=\(seed))"
            let reset = served["reset"] as? [String: Any] ?? [:]
            #expect(normalized(reset["text"] as? String) == normalized(played.resetText),
                    "\(label): reset text differs")
            let steps = served["steps"] as? [[String: Any]] ?? []
            #expect(steps.count == played.steps.count, "\(label): \(steps.count) served steps, REPL played \(played.steps.count)")
            for (s, p) in zip(steps, played.steps) {
                let t = s["t"] as? Int ?? -1
                #expect(t == p.t, "\(label): t \(t) vs REPL \(p.t)")
                let reward = (s["reward"] as? NSNumber)?.doubleValue ?? .nan
                #expect(close(reward, p.reward), "\(label) t=\(t): reward \(reward) vs REPL \(p.reward)")
                #expect((s["done"] as? Bool) == p.done, "\(label) t=\(t): done differs")
                #expect((s["invalid"] as? Bool ?? false) == p.invalid, "\(label) t=\(t): invalid differs")
                #expect(normalized(s["text"] as? String) == normalized(p.text),
                        "\(label) t=\(t): text differs:\n  served: \(s["text"] as? String ?? "nil")\n  REPL:   \(p.text)")
                if let ret = (s["episode_return"] as? NSNumber)?.doubleValue {
                    #expect(close(ret, p.episodeReturn), "\(label) t=\(t): return \(ret) vs REPL \(p.episodeReturn)")
                }
            }
            if let last = steps.last, let over = played.ending {
                let truncated = last["truncated"] as? Bool ?? false
                #expect(over == (truncated ? "truncated" : "terminated"), "\(label): served truncated=\(truncated), REPL \(over)")
            } else {
                #expect(played.ending != nil, "\(label): the REPL did not end the episode")
            }
        }
    }

    @Test(.enabled(if: hasRay, skipRayReason))
    func rayJobAccountsForEveryEpisode() throws {
        let home = tempPath("ray-home")
        let server = try RCServer.start(home: home)
        defer { server.stop() }
        let r = Self.script("serve_ray_check.py", [server.url, "--db", home + "/gtr.sqlite"], timeout: 900)
        #expect(r.status == 0, "serve_ray_check failed: \(r.tail)")
        #expect(Self.summaryOK(r.stdout))
    }

    @Test(.enabled(if: hasOpenEnv, skipReason))
    func faultsLeaveHealthySessionsAlone() throws {
        let server = try RCServer.start()
        defer { server.stop() }
        let r = Self.script("serve_fault_check.py", [server.url])
        #expect(r.status == 0, "serve_fault_check failed: \(r.tail)")
        #expect(Self.summaryOK(r.stdout))
        #expect(server.isRunning, "gtr-serve exited during the fault check: \(server.stderrTail)")
    }

    @Test(.enabled(if: hasOpenEnv, skipReason))
    func aTokenServerRefusesOpenEnvsClientWithoutItAndServesItWith() throws {
        let token = "t0k3n-\(UUID().uuidString)"
        let home = tempPath("token-home")
        let server = try RCServer.start(home: home, args: ["token_env=GTR_TEST_TOKEN"], env: ["GTR_TEST_TOKEN": token])
        defer { server.stop() }
        let r = Self.script("serve_token_check.py", [server.url, token])
        #expect(r.status == 0, "serve_token_check failed: \(r.tail)")
        #expect(Self.summaryOK(r.stdout))
        // only the two authorised connections were sessions, and the token is nowhere in the log
        let db = (try? Data(contentsOf: URL(fileURLWithPath: home + "/gtr.sqlite"))) ?? Data()
        #expect(!db.isEmpty && db.range(of: Data(token.utf8)) == nil)
    }

    @Test(.enabled(if: hasOpenEnv, skipReason))
    func shortLoadRunLosesNothing() throws {
        let server = try RCServer.start()
        defer { server.stop() }
        let r = Self.script("serve_load.py", [server.url, "--sessions", "16", "--steps", "100",
                                              "--household-sessions", "2", "--household-steps", "30",
                                              "--no-peers", "--pid", String(server.pid)])
        #expect(r.status == 0, "serve_load failed: \(r.tail)")
        #expect(Self.summaryOK(r.stdout))
    }

    // MARK: helpers

    fileprivate static func run(_ args: [String], env: [String: String] = [:], timeout: Double) -> RCOutput {
        ServingTests.run(args, env: env, timeout: timeout)
    }

    fileprivate static func script(_ name: String, _ args: [String], timeout: Double = 600) -> RCOutput {
        run([python, root.appendingPathComponent("scripts/\(name)").path] + args, timeout: timeout)
    }

    /// The last stdout line is the script's JSON summary with "ok": true.
    fileprivate static func summaryOK(_ stdout: String) -> Bool {
        guard let line = stdout.split(separator: "\n").last,
              let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return false }
        return obj["ok"] as? Bool == true
    }
}

/// The REPL's `$reward` and `$return` print about 4 significant digits (0.3333, 51.67).
private func close(_ served: Double, _ printed: Double) -> Bool {
    abs(served - printed) <= 1e-3 * max(1, abs(served))
}

/// Texts compared modulo trailing whitespace on each line and at the ends.
private func normalized(_ s: String?) -> String {
    (s ?? "").split(separator: "\n", omittingEmptySubsequences: false)
        .map { String($0.reversed().drop(while: { $0 == " " }).reversed()) }
        .joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines)
}

// MARK: - gtr's REPL playing the served episodes

private struct REPLStep { var t: Int; var reward: Double; var done: Bool; var invalid: Bool; var episodeReturn: Double; var text: String }
private struct REPLEpisode { var resetText = ""; var steps: [REPLStep] = []; var ending: String? }

private enum REPLTranscript {
    /// One `gtr` process plays every episode: `env NAME seed=N`, then each served step as `act TOKEN` or
    /// `act text='RAW'`, each followed by an `echo` of the built-in variables between markers.
    static func play(_ episodes: [[String: Any]]) throws -> [REPLEpisode] {
        var script = ""
        for (k, e) in episodes.enumerated() {
            let env = e["env"] as? String == "household" ? "alfworld" : (e["env"] as? String ?? "points24")
            script += "echo @@EP \(k)\nenv \(env) seed=\(e["seed"] as? Int ?? 0)\necho @@RESET\n"
            for s in e["steps"] as? [[String: Any]] ?? [] {
                let send = s["send"] as? [String: String] ?? [:]
                if let text = send["text"] {
                    try #require(!text.contains("'") && !text.contains("\n"), "a raw output the REPL cannot quote")
                    script += "act text='\(text)'\n"
                } else {
                    script += "act \(send["action"] ?? send["command"] ?? "")\n"
                }
                script += "echo @@STEP $step $reward $done $invalid $return\n"
            }
        }
        let home = tempPath("repl-home")
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: home) }
        let input = home + "/script.gtr"
        try script.write(toFile: input, atomically: true, encoding: .utf8)
        let r = run([RealClientTests.binary("gtr")], env: ["GTR_HOME": home, "NO_COLOR": "1"], stdinPath: input,
                    timeout: 600)
        try #require(r.status == 0, "gtr exited \(r.status): \(r.tail)")
        return parse(r.stdout)
    }

    /// Splits the REPL's output at the markers. A step's block is `t=N ACTION → reward R … | TEXT` (TEXT may go on
    /// over more lines), possibly followed by `episode N over (terminated|truncated): …`.
    static func parse(_ out: String) -> [REPLEpisode] {
        var episodes: [REPLEpisode] = []
        var block: [String] = []
        var inReset = false
        for raw in out.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = String(raw)
            if line.hasPrefix("@@EP ") {
                episodes.append(REPLEpisode())
                block = []
                inReset = true
            } else if line == "@@RESET" {
                var text = block.joined(separator: "\n")
                if let r = text.range(of: ": ") { text = String(text[r.upperBound...]) }  // "points24 episode 1 seed=3: "
                episodes[episodes.count - 1].resetText = text
                block = []
                inReset = false
            } else if line.hasPrefix("@@STEP "), !episodes.isEmpty {
                let f = line.split(separator: " ").map(String.init)
                var text: [String] = []
                for (i, b) in block.enumerated() {
                    if b.hasPrefix("episode "), let r = b.range(of: #" over \((\w+)\)"#, options: .regularExpression) {
                        episodes[episodes.count - 1].ending = String(b[r]).replacingOccurrences(of: " over (", with: "")
                            .replacingOccurrences(of: ")", with: "")
                    } else if i == 0 {
                        if let arrow = b.range(of: " → reward "), let bar = b.range(of: " | ", range: arrow.upperBound..<b.endIndex) {
                            text.append(String(b[bar.upperBound...]))
                        } else {
                            text.append(b)
                        }
                    } else {
                        text.append(b)
                    }
                }
                let step = REPLStep(t: Int(f[safe: 1] ?? "") ?? -1, reward: Double(f[safe: 2] ?? "") ?? .nan,
                                    done: f[safe: 3] == "true", invalid: f[safe: 4] == "true",
                                    episodeReturn: Double(f[safe: 5] ?? "") ?? .nan, text: text.joined(separator: "\n"))
                episodes[episodes.count - 1].steps.append(step)
                block = []
            } else if inReset || !episodes.isEmpty {
                block.append(line)
            }
        }
        return episodes
    }
}

private extension Array {
    subscript(safe i: Int) -> Element? { indices.contains(i) ? self[i] : nil }
}

// MARK: - processes (posix_spawn + waitpid, as the shell tests do; Foundation's Process can miss exits)

fileprivate struct RCOutput {
    var status: Int32
    var stdout: String
    var stderr: String
    /// The last lines of stderr and stdout, for failure messages.
    var tail: String {
        let e = stderr.split(separator: "\n").suffix(8).joined(separator: "\n")
        let o = stdout.split(separator: "\n").suffix(3).joined(separator: "\n")
        return "exit \(status)\n\(e)\n\(o)"
    }
}

private func tempPath(_ name: String) -> String {
    FileManager.default.temporaryDirectory.appendingPathComponent("gtr-rc-\(UUID().uuidString)-\(name)").path
}

private func spawn(_ args: [String], env: [String: String], stdinPath: String?, stdoutPath: String,
                   stderrPath: String) -> pid_t? {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, stdinPath ?? "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, stdoutPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    posix_spawn_file_actions_addopen(&actions, 2, stderrPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    var environment = ProcessInfo.processInfo.environment
    for (k, v) in env { environment[k] = v }
    var argv: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) } + [nil]
    defer { for a in argv { free(a) } }
    var envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer { for e in envp { free(e) } }
    var pid: pid_t = 0
    guard posix_spawnp(&pid, args[0], &actions, nil, &argv, &envp) == 0 else { return nil }
    return pid
}

/// Waits for `pid` (SIGKILL after `timeout` seconds); the exit code, or 128 + signal.
private func wait(_ pid: pid_t, timeout: Double) -> Int32 {
    var status: Int32 = 0
    let deadline = Date().addingTimeInterval(timeout)
    while true {
        let r = waitpid(pid, &status, WNOHANG)
        if r == pid { break }
        if r < 0 { return -1 }
        if Date() > deadline { kill(pid, SIGKILL); _ = waitpid(pid, &status, 0); return 137 }
        usleep(20_000)
    }
    return (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
}

private func run(_ args: [String], env: [String: String] = [:], stdinPath: String? = nil,
                 timeout: Double) -> RCOutput {
    let io = tempPath("io")
    defer { for s in [".out", ".err"] { try? FileManager.default.removeItem(atPath: io + s) } }
    guard let pid = spawn(args, env: env, stdinPath: stdinPath, stdoutPath: io + ".out", stderrPath: io + ".err") else {
        return RCOutput(status: -1, stdout: "", stderr: "could not start \(args[0])")
    }
    let status = wait(pid, timeout: timeout)
    func read(_ s: String) -> String { (try? String(contentsOfFile: io + s, encoding: .utf8)) ?? "" }
    return RCOutput(status: status, stdout: read(".out"), stderr: read(".err"))
}

/// A `gtr-serve` on a free port with its own home, stopped (SIGTERM, then SIGKILL) by `stop()`.
final class RCServer {
    let pid: pid_t
    let url: String
    let io: String

    private init(pid: pid_t, url: String, io: String) { self.pid = pid; self.url = url; self.io = io }

    static func start(home: String? = nil, args: [String] = [], env: [String: String] = [:]) throws -> RCServer {
        let binary = RealClientTests.binary("gtr-serve")
        try #require(FileManager.default.isExecutableFile(atPath: binary), "\(binary) is not built")
        let home = home ?? tempPath("serve-home")
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        let io = tempPath("serve")
        let pid = try #require(spawn([binary, "port=0", "home=\(home)"] + args, env: env.merging(["NO_COLOR": "1"]) { a, _ in a }, stdinPath: nil,
                                     stdoutPath: io + ".out", stderrPath: io + ".err"))
        let deadline = Date().addingTimeInterval(60)
        let prefix = "gtr serve: listening on "
        while Date() < deadline {
            let out = (try? String(contentsOfFile: io + ".out", encoding: .utf8)) ?? ""
            if let line = out.split(separator: "\n").first(where: { $0.hasPrefix(prefix) }) {
                // The URL is the first word after the prefix (the server may add a note, e.g. its log path).
                let url = line.dropFirst(prefix.count).split(separator: " ").first.map(String.init) ?? ""
                return RCServer(pid: pid, url: url, io: io)
            }
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                let err = (try? String(contentsOfFile: io + ".err", encoding: .utf8)) ?? ""
                throw RCError.exited("gtr-serve exited before listening: \(err.suffix(500))")
            }
            usleep(50_000)
        }
        kill(pid, SIGKILL)
        _ = wait(pid, timeout: 5)
        throw RCError.exited("gtr-serve printed no listening line within 60 s")
    }

    var isRunning: Bool { kill(pid, 0) == 0 && waitpid(pid, nil, WNOHANG) == 0 }

    var stderrTail: String {
        String(((try? String(contentsOfFile: io + ".err", encoding: .utf8)) ?? "").suffix(800))
    }

    func stop() {
        kill(pid, SIGTERM)
        if wait(pid, timeout: 10) == 137 { /* killed after the grace period */ }
        for s in [".out", ".err"] { try? FileManager.default.removeItem(atPath: io + s) }
    }
}

enum RCError: Error, CustomStringConvertible {
    case exited(String)
    var description: String { switch self { case .exited(let m): m } }
}
