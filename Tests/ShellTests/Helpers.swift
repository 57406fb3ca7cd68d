import Foundation
import CPty
@testable import Shell

/// A fresh temporary directory per test.
func tempDir() -> URL {
    let d = FileManager.default.temporaryDirectory.appendingPathComponent("gtr-test-" + UUID().uuidString)
    try! FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
    return d
}

let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// The gtr binary built alongside the tests (release under `make test`).
var gtrBinary: String {
    #if DEBUG
    repoRoot.appendingPathComponent(".build/debug/gtr").path
    #else
    repoRoot.appendingPathComponent(".build/release/gtr").path
    #endif
}

/// A shell that prints nothing and logs to its own database.
func makeShell(_ dir: URL, logging: Bool = true, interactive: Bool = false) -> Shell {
    var c = ShellConfig(home: dir, databasePath: dir.appendingPathComponent("gtr.sqlite").path, style: Style(color: false),
                        interactive: interactive, workingDirectory: dir)
    c.echo = false
    c.logging = logging
    return Shell(config: c)
}

struct ProcessResult { var status: Int32; var stdout: String; var stderr: String }

/// Runs gtr with `input` on stdin (a file, so not a terminal).
func runGTR(_ args: [String], input: String, home: URL, extraEnv: [String: String] = [:]) throws -> ProcessResult {
    var env = ProcessInfo.processInfo.environment
    env["GTR_HOME"] = home.path
    env["NO_COLOR"] = "1"
    for (k, v) in extraEnv { env[k] = v }
    let io = FileManager.default.temporaryDirectory.appendingPathComponent("gtr-io-\(UUID().uuidString)").path
    defer { for s in [".in", ".out", ".err"] { try? FileManager.default.removeItem(atPath: io + s) } }
    try input.write(toFile: io + ".in", atomically: false, encoding: .utf8)
    let status = spawnAndWait([gtrBinary] + args, env: env, cwd: home.path, stdinPath: io + ".in",
                              stdoutPath: io + ".out", stderrPath: io + ".err", timeout: 600)
    func read(_ s: String) -> String { (try? String(contentsOfFile: io + s, encoding: .utf8)) ?? "" }
    // Decode like a shell: exit code, or 128 + signal.
    let code: Int32 = status < 0 ? -1 : ((status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f))
    return ProcessResult(status: code, stdout: read(".out"), stderr: read(".err"))
}

/// Runs a program with posix_spawn and waits with waitpid (10 s at most, then SIGKILL). Foundation's `Process`
/// can miss a child's exit when many processes start concurrently (parallel test suites), which hung the tmux
/// test; this path has no such race. stdout goes to `stdoutPath` (or /dev/null), stdin and stderr to /dev/null.
@discardableResult
func spawnAndWait(_ args: [String], env: [String: String]? = nil, cwd: String? = nil, stdinPath: String? = nil,
                  stdoutPath: String? = nil, stderrPath: String? = nil, timeout: Double = 10) -> Int32 {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, stdinPath ?? "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, stdoutPath ?? "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    posix_spawn_file_actions_addopen(&actions, 2, stderrPath ?? "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    if let cwd { gtr_spawn_addchdir(&actions, cwd) }
    var argv: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) } + [nil]
    defer { for a in argv { free(a) } }
    var envp: [UnsafeMutablePointer<CChar>?] = (env ?? ProcessInfo.processInfo.environment).map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer { for e in envp { free(e) } }
    var pid: pid_t = 0
    guard posix_spawnp(&pid, args[0], &actions, nil, &argv, &envp) == 0 else { return -1 }
    var status: Int32 = 0
    let deadline = Date().addingTimeInterval(timeout)
    while true {
        let r = waitpid(pid, &status, WNOHANG)
        if r == pid { return status }
        if r < 0 { return 0 }  // already reaped elsewhere
        if Date() > deadline { kill(pid, SIGKILL); _ = waitpid(pid, &status, 0); return -1 }
        usleep(5_000)
    }
}
