import Environments
import Foundation
import Shell
import Tensors

// `make bench`: one table of the shell's and the card environments' speed on this machine.
BLASRuntime.ensureOptimalCore()

func time(_ body: () throws -> Void) rethrows -> Double {
    let t = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - t) / 1e9
}
func median(_ xs: [Double]) -> Double { xs.sorted()[xs.count / 2] }

var rows: [(String, String, String)] = []

// 1. Start-up time to the first prompt: gtr reading "quit" from a pipe (no terminal), median of 11 runs.
let exe = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("gtr")
let home = FileManager.default.temporaryDirectory.appendingPathComponent("gtr-bench-\(UUID().uuidString)")
try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
var starts: [Double] = []
for _ in 0..<11 {
    let p = Process()
    p.executableURL = exe
    p.environment = ProcessInfo.processInfo.environment.merging(["GTR_HOME": home.path, "NO_COLOR": "1"]) { $1 }
    let i = Pipe()
    p.standardInput = i; p.standardOutput = FileHandle.nullDevice; p.standardError = FileHandle.nullDevice
    starts.append(try time {
        try p.run()
        i.fileHandleForWriting.write(Data("quit\n".utf8)); try i.fileHandleForWriting.close()
        p.waitUntilExit()
    })
}
rows.append(("start-up to first prompt (piped, incl. session row)", String(format: "%.1f ms", median(starts) * 1000), "median of 11"))

// 2. A 10,000-step scripted run with and without the session log.
func scripted(logging: Bool) -> Double {
    var c = ShellConfig(home: home, databasePath: home.appendingPathComponent("bench-\(UUID().uuidString).sqlite").path,
                        style: Style(color: false), interactive: false, workingDirectory: home)
    c.echo = false; c.logging = logging
    let sh = Shell(config: c)
    _ = sh.execute("env points24 seed=1")
    let t = time { _ = sh.execute("repeat 10000 { act (; if $done { reset } }") }
    sh.close()
    return t
}
_ = scripted(logging: false)
let without = median((0..<3).map { _ in scripted(logging: false) })
let with = median((0..<3).map { _ in scripted(logging: true) })
rows.append(("scripted steps/s, no session log", String(format: "%.0f", 10000 / without), "10,000 act steps"))
rows.append(("scripted steps/s, session log on", String(format: "%.0f", 10000 / with), "batched WAL writes"))
rows.append(("session log overhead", String(format: "%.1f %%", (with / without - 1) * 100), "target < 5 %"))

// 3. Points24 steps/s with and without rendering the 300×300 frame.
func envSteps(render: Bool) throws -> Double {
    let env = Points24()
    env.renderFrames = render
    try env.reset(seed: 1, options: [:])
    let n = render ? 5_000 : 200_000
    let t = try time {
        for _ in 0..<n { let r = try env.step("("); if r.done { try env.reset(seed: nil, options: [:]) } }
    }
    return Double(n) / t
}
rows.append(("Points24 env steps/s, no rendering", String(format: "%.0f", try envSteps(render: false)), ""))
rows.append(("Points24 env steps/s, rendering each frame", String(format: "%.0f", try envSteps(render: true)), "300x300x3"))

// 4. Solver: microseconds per hand over all 715 multisets of 1…10 (fresh solver, no cache).
var hands: [[Int]] = []
for a in 1...10 { for b in a...10 { for c in b...10 { for d in c...10 { hands.append([a, b, c, d]) } } } }
let solver = Solver()
let tAll = time { for h in hands { _ = solver.solutions(h) } }
let tAny = time { for h in hands { _ = Solver().solvable(h) } }
rows.append(("solver: all solutions per hand", String(format: "%.0f µs", tAll / Double(hands.count) * 1e6), "715 hands, uncached"))
rows.append(("solver: solvable? per hand", String(format: "%.0f µs", tAny / Double(hands.count) * 1e6), "early exit"))

print("gtr bench (BLAS core \(BLASRuntime.coreName), \(BLASRuntime.threads) thread(s))")
print("| benchmark | result | note |")
print("|---|---|---|")
for r in rows { print("| \(r.0) | \(r.1) | \(r.2) |") }
try? FileManager.default.removeItem(at: home)
