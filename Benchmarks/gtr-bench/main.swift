import Environments
import Foundation
import Shell
import Tensors

// `make bench`: one table of the shell's, the card environments' and the tensor core's speed on this machine.
// Child modes (used by the parent for per-process measurements): `train-step`, `sgemm-raw`; `household` and
// `session-log` print only their rows.
let args = CommandLine.arguments
if args.count > 1 && args[1] == "sgemm-raw" {
    // No core fix here: whatever OpenBLAS detected on its own.
    let r = [256, 1024].map { TensorBench.sgemm($0).raw }
    print(String(format: "{\"core\": \"%@\", \"g256\": %.2f, \"g1024\": %.2f}", BLASRuntime.coreName, r[0], r[1]))
    exit(0)
}
if args.count > 1 && args[1] == "session-log" {
    // Only the session-log rows; `session-log on|off` runs 10,000 steps in one shell (for a profiler).
    let home = FileManager.default.temporaryDirectory.appendingPathComponent("gtr-bench-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
    if args.count > 2 {
        let sh = SessionLogBench.shell(logging: args[2] == "on", home: home)
        let r = SessionLogBench.run(sh, SessionLogBench.steps)
        sh.close()
        print(String(format: "%.3f s wall, %.3f s CPU", r.wall, r.cpu))
    } else {
        for r in SessionLogBench.rows(home: home) { print("| \(r.0) | \(r.1) | \(r.2) |") }
    }
    try? FileManager.default.removeItem(at: home)
    exit(0)
}
if args.count > 1 && args[1] == "household" {
    // Only the household rows (quick check of issue 7's speed goal).
    for r in try HouseholdBench.rows() { print("| \(r.0) | \(r.1) | \(r.2) |") }
    exit(0)
}
BLASRuntime.ensureOptimalCore()
if args.count > 1 && args[1] == "train-step" {
    let r = TensorBench.trainStep(steps: args.count > 2 ? Int(args[2]) ?? 10 : 10)
    print(String(format: "{\"ms\": %.3f, \"peak_rss_mb\": %.1f, \"params\": %.0f, \"threads\": %d}", r["ms"]!, r["peak_rss_mb"]!, r["params"]!, BLASRuntime.threads))
    exit(0)
}

if args.count > 1 && args[1] == "train-update" {
    let r = try TrainBench.child(updates: args.count > 2 ? Int(args[2]) ?? 1 : 1)
    let json = try JSONSerialization.data(withJSONObject: r, options: [.sortedKeys])
    print(String(decoding: json, as: UTF8.self))
    exit(0)
}

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

// 2. 10,000 scripted steps with and without the session log, as off/on ratios in interleaved pairs.
rows += SessionLogBench.rows(home: home)

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

// 5. Agent (issue 5).
rows += try AgentBench.rows()
rows += try CorrectorBench.rows()
rows += try HouseholdBench.rows()

// 6. Tensor core (issue 4). Rows: benchmark | gtr | peer | ratio.
var tensorRows: [(String, String, String, String)] = []
func child(_ args: [String], env: [String: String]) -> [String: Any]? {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: args[0])
    p.arguments = Array(args.dropFirst())
    p.environment = env
    let o = Pipe()
    p.standardOutput = o; p.standardError = FileHandle.nullDevice
    guard (try? p.run()) != nil else { return nil }
    let data = o.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    let line = String(decoding: data, as: UTF8.self).split(separator: "\n").last.map(String.init) ?? ""
    return (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
}
for n in [64, 128, 256, 512, 1024] {
    let r = TensorBench.sgemm(n)
    tensorRows.append(("sgemm \(n)³ GFLOP/s: Tensor.matmul vs raw cblas_sgemm", String(format: "%.1f", r.tensor), String(format: "%.1f", r.raw),
                       String(format: "%.2f", r.tensor / r.raw)))
}
var plainEnv = ProcessInfo.processInfo.environment
plainEnv["OPENBLAS_CORETYPE"] = nil; plainEnv["GTR_BLAS_REEXEC"] = nil; plainEnv["GTR_NO_REEXEC"] = "1"
if let r = child([CommandLine.arguments[0], "sgemm-raw"], env: plainEnv), let g = r["g1024"] as? Double, let g2 = r["g256"] as? Double {
    let fixed = TensorBench.sgemm(1024).raw, fixed256 = TensorBench.sgemm(256).raw
    tensorRows.append(("core fix: sgemm 1024³ GFLOP/s, \(BLASRuntime.coreName) vs detected \(r["core"] ?? "?")",
                       String(format: "%.1f", fixed), String(format: "%.1f", g), String(format: "%.2f", fixed / g)))
    tensorRows.append(("core fix: sgemm 256³ GFLOP/s", String(format: "%.1f", fixed256), String(format: "%.1f", g2), String(format: "%.2f", fixed256 / g2)))
    // What the fix protects against: OpenBLAS's generic fallback core, forced.
    var prescott = plainEnv
    prescott["OPENBLAS_CORETYPE"] = "Prescott"
    if let p = child([CommandLine.arguments[0], "sgemm-raw"], env: prescott), let gp = p["g1024"] as? Double {
        tensorRows.append(("core fix: sgemm 1024³ GFLOP/s, \(BLASRuntime.coreName) vs forced fallback \(p["core"] ?? "?")",
                           String(format: "%.1f", fixed), String(format: "%.1f", gp), String(format: "%.2f", fixed / gp)))
    }
}
for (name, simd, scalar) in TensorBench.kernels() {
    tensorRows.append(("SIMD kernel vs scalar loop: \(name)", String(format: "%.2f", simd), String(format: "%.2f", scalar), String(format: "%.1f", simd / scalar)))
}
// Training step: our figures measured now; PyTorch's from the last `make bench-peers` (same machine), if any.
let peerFile = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("bench-peers.json")
let peers = (try? JSONSerialization.jsonObject(with: Data(contentsOf: peerFile))) as? [String: [String: Any]] ?? [:]
for threads in [1, 2] {
    var env = ProcessInfo.processInfo.environment
    env["OPENBLAS_NUM_THREADS"] = String(threads)
    guard let r = child([CommandLine.arguments[0], "train-step", "10"], env: env), let ms = r["ms"] as? Double,
          let rss = r["peak_rss_mb"] as? Double else { continue }
    let peer = peers[String(threads)]
    let pms = peer?["ms"] as? Double, prss = peer?["peak_rss_mb"] as? Double
    tensorRows.append(("train step ms (d128 L4 H4 T256 B8 V128, fwd+bwd+AdamW), \(threads) thread(s)", String(format: "%.1f", ms),
                       pms.map { String(format: "%.1f (torch %@)", $0, (peer?["torch"] as? String) ?? "?") } ?? "run make bench-peers",
                       pms.map { String(format: "%.2f× faster", $0 / ms) } ?? "–"))
    tensorRows.append(("peak RSS MB of that step's process, \(threads) thread(s)", String(format: "%.0f", rss),
                       prss.map { String(format: "%.0f", $0) } ?? "–", prss.map { String(format: "%.2f of peer", rss / $0) } ?? "–"))
}

// 7. PPO-GTR updates at the default size (issue 13), 1 and 2 OpenBLAS threads, each in its own process.
var trainRows: [(String, String, String)] = []
for threads in [1, 2] {
    var env = ProcessInfo.processInfo.environment
    env["OPENBLAS_NUM_THREADS"] = String(threads)
    guard let r = child([CommandLine.arguments[0], "train-update", "1"], env: env), let g = r["generate"] as? Double,
          let c = r["correct"] as? Double, let u = r["update"] as? Double, let sps = r["env_steps_per_s"] as? Double,
          let rss = r["peak_rss_mb"] as? Double else { trainRows.append(("PPO-GTR update, \(threads) thread(s)", "failed", "")); continue }
    trainRows.append(("PPO-GTR update s (8 Points24 envs × 16 steps, default agent, oracle), \(threads) thread(s)",
                      String(format: "%.1f", g + c + u), String(format: "generation %.1f + correction %.2f + update %.1f", g, c, u)))
    trainRows.append(("rollout env steps/s, \(threads) thread(s)", String(format: "%.1f", sps), "batched generation over 8 envs, corrector included"))
    trainRows.append(("peak RSS MB of that run, \(threads) thread(s)", String(format: "%.0f", rss), "weights, Adam moments, rollout, DAgger buffer"))
}
rows += trainRows

print("gtr bench (BLAS core \(BLASRuntime.coreName), \(BLASRuntime.threads) thread(s))")
print("| benchmark | result | note |")
print("|---|---|---|")
for r in rows { print("| \(r.0) | \(r.1) | \(r.2) |") }
print("")
print("| tensor core | gtr | peer | ratio |")
print("|---|---|---|---|")
for r in tensorRows { print("| \(r.0) | \(r.1) | \(r.2) | \(r.3) |") }
try? FileManager.default.removeItem(at: home)
