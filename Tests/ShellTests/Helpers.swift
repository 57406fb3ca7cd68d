import Foundation
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

/// Runs gtr with `input` on stdin (a pipe, so not a terminal).
func runGTR(_ args: [String], input: String, home: URL, extraEnv: [String: String] = [:]) throws -> ProcessResult {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: gtrBinary)
    p.arguments = args
    var env = ProcessInfo.processInfo.environment
    env["GTR_HOME"] = home.path
    env["NO_COLOR"] = "1"
    for (k, v) in extraEnv { env[k] = v }
    p.environment = env
    p.currentDirectoryURL = home
    let (i, o, e) = (Pipe(), Pipe(), Pipe())
    p.standardInput = i; p.standardOutput = o; p.standardError = e
    try p.run()
    i.fileHandleForWriting.write(Data(input.utf8))
    try i.fileHandleForWriting.close()
    let out = o.fileHandleForReading.readDataToEndOfFile()
    let err = e.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return ProcessResult(status: p.terminationStatus, stdout: String(decoding: out, as: UTF8.self), stderr: String(decoding: err, as: UTF8.self))
}
