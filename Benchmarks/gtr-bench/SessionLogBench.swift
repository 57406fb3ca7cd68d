import Foundation
import SessionLog
import Shell

/// What the session log costs a scripted run (issue 14 item 5): 10,000 steps of `act (; if $done { reset }` in a
/// shell with logging off and one with logging on. The episodes are short (about 3 steps): a busy shell hands its
/// finished episodes to the log's queue every 25 ms, and the commit runs there, on the other core, while the shell
/// goes on. On 2 shared cores identical runs took 2.0 to 3.1 s of CPU, far more than the log's cost, so the two
/// shells take turns every 1,000 steps, the one going first alternating, and each pair of runs gives one on/off
/// ratio; the median of 7 pairs is reported with its spread. Three clocks: wall clock (what a user waits), the
/// shell thread's CPU, and the whole process's CPU (the commits on the log's queue included). `raw` times the log
/// alone, with no environment, for its own CPU cost per step.
enum SessionLogBench {
    static let steps = 10_000, block = 250

    /// A fresh shell on a Points24 episode, writing to its own database file when `logging` is on.
    static func shell(logging: Bool, home: URL) -> Shell {
        var c = ShellConfig(home: home, databasePath: home.appendingPathComponent("bench-\(UUID().uuidString).sqlite").path,
                            style: Style(color: false), interactive: false, workingDirectory: home)
        c.echo = false; c.logging = logging
        let sh = Shell(config: c)
        _ = sh.execute("env points24 seed=1")
        return sh
    }

    /// Wall-clock, shell-thread CPU and process CPU seconds of `repeat n { act (; if $done { reset } }`.
    static func run(_ sh: Shell, _ n: Int) -> (wall: Double, cpu: Double, process: Double) {
        let c0 = threadCPU(), p0 = processCPU()
        let t = time { _ = sh.execute("repeat \(n) { act (; if $done { reset } }") }
        return (t, threadCPU() - c0, processCPU() - p0)
    }

    /// User + system seconds of every thread of this process.
    static func processCPU() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    static func threadCPU() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// One pair of 10,000-step runs, taking turns every 250 steps: the total wall-clock seconds of each, and its
    /// on/off ratios (wall clock, CPU) as the median over the 40 turns, so that a burst from a neighbour during
    /// a few turns does not decide the pair. Each turn is one command, whose end commits its rows: no commit
    /// spills into the other shell's turn. `control`: both shells log nothing (the measurement's own noise).
    static func pair(home: URL, control: Bool = false) -> (off: Double, on: Double, wall: Double, cpu: Double, process: Double) {
        let off = shell(logging: false, home: home), on = shell(logging: !control, home: home)
        defer { off.close(); on.close() }
        var offTotal = 0.0, onTotal = 0.0, wall: [Double] = [], cpu: [Double] = [], process: [Double] = []
        for k in 0..<(steps / block) {
            let (x, y): ((wall: Double, cpu: Double, process: Double), (wall: Double, cpu: Double, process: Double))
            if k % 2 == 0 { x = run(off, block); y = run(on, block) } else { y = run(on, block); x = run(off, block) }
            offTotal += x.wall; onTotal += y.wall
            wall.append(y.wall / x.wall); cpu.append(y.cpu / x.cpu); process.append(y.process / x.process)
        }
        return (offTotal, onTotal, median(wall), median(cpu), median(process))
    }

    static func rows(home: URL, pairs: Int = 7) -> [(String, String, String)] {
        let warm = shell(logging: true, home: home)
        _ = run(warm, block); warm.close()
        var off: [Double] = [], on: [Double] = [], wall: [Double] = [], cpu: [Double] = [], process: [Double] = []
        for _ in 0..<pairs {
            let p = pair(home: home)
            off.append(p.off); on.append(p.on); wall.append(p.wall); cpu.append(p.cpu); process.append(p.process)
        }
        let control = (0..<pairs).map { _ in pair(home: home, control: true).wall }
        let rawCost = median((0..<3).map { _ in raw(delay: 0.05) })
        func overhead(_ ratios: [Double]) -> String {
            String(format: "%.1f %% (%.1f … %.1f)", (median(ratios) - 1) * 100, (ratios.min()! - 1) * 100, (ratios.max()! - 1) * 100)
        }
        return [
            ("scripted steps/s, no session log", String(format: "%.0f", Double(steps) / median(off)), "10,000 act steps, median of \(pairs)"),
            ("scripted steps/s, session log on", String(format: "%.0f", Double(steps) / median(on)),
             "finished episodes (~3 steps each) committed in groups on the log's queue, WAL"),
            ("session log alone: µs per logged step (no environment)", String(format: "%.1f", rawCost),
             String(format: "median of 3 runs of 30,000 steps; %.1f %% of a scripted step without the log (%.0f µs)",
                    rawCost / (median(off) / Double(steps) * 1e6) * 100, median(off) / Double(steps) * 1e6)),
            ("session log overhead, wall clock (min … max)", overhead(wall),
             "median of \(pairs) off/on pairs, each the median of \(steps / block) turns of \(block) steps; target < 5 %"),
            ("session log overhead, CPU time of the shell's thread (min … max)", overhead(cpu),
             "the same pairs"),
            ("session log overhead, CPU time of the process (min … max)", overhead(process),
             "the same pairs; the commits on the log's queue included"),
            ("control: the same measurement with the log off in both shells (min … max)", overhead(control),
             "wall clock; what the measurement reads when there is nothing to measure"),
        ]
    }
    /// The log alone: µs per logged step of 3-step episodes (enqueue, grouped commits), no environment.
    static func raw(delay: Double, steps n: Int = 30_000) -> Double {
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("gtr-bench-raw-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: home) }
        let log = SessionLog(path: home.appendingPathComponent("log.sqlite").path,
                             info: SessionInfo(gtrVersion: "bench", gitCommit: nil, host: "bench", config: "{}"))
        log.episodeCommitDelay = delay
        let t0 = DispatchTime.now().uptimeNanoseconds
        var e = 0
        for i in 0..<n {
            let t = i % 3 + 1
            if t == 1 { e += 1; log.beginEpisode(e, env: "points24", seed: UInt64(e), options: "") }
            log.logStep(StepRecord(episode: e, t: t, env: "points24", observation: "Cards: S6 D6 H5 CK (numbers 6 6 5 10) | Formula: (6*",
                                   action: "(", source: "script", reward: t == 3 ? -1 : 0, done: t == 3,
                                   info: "{\"cards\":[6,6,5,10],\"formula\":\"(6*\",\"remaining\":[6,5,10]}"), commandSeq: 2)
            if t == 3 { log.endEpisode(e, return: -1, length: 3); log.episodeFinished() }
        }
        log.close()
        return Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e3 / Double(n)
    }
}
