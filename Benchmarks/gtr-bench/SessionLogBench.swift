import Foundation
import Shell

/// What the session log costs a scripted run (issue 14 item 5): 10,000 steps of `act (; if $done { reset }` in a
/// shell with logging off and one with logging on. The episodes are short (about 3 steps): the log commits the
/// finished ones in groups (at most 50 ms apart when nothing is printed), about 300 commits. On 2 shared cores identical runs took 2.0 to 3.1 s
/// of CPU, far more than the log's cost, so the two shells take turns every 1,000 steps, the one going first
/// alternating, and each pair of runs gives one on/off ratio; the median of 7 pairs is reported with its spread.
/// Three clocks: wall clock (what a user waits), the shell thread's CPU, and the whole process's CPU (commits
/// made by the log's timer included).
enum SessionLogBench {
    static let steps = 10_000, block = 1_000

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

    /// One pair of 10,000-step runs, taking turns every 1,000 steps: the total wall-clock seconds of each, and its
    /// on/off ratios (wall clock, CPU) as the median over the 10 turns, so that a burst from a neighbour during
    /// one turn does not decide the pair.
    static func pair(home: URL) -> (off: Double, on: Double, wall: Double, cpu: Double, process: Double) {
        let off = shell(logging: false, home: home), on = shell(logging: true, home: home)
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
        func overhead(_ ratios: [Double]) -> String {
            String(format: "%.1f %% (%.1f … %.1f)", (median(ratios) - 1) * 100, (ratios.min()! - 1) * 100, (ratios.max()! - 1) * 100)
        }
        return [
            ("scripted steps/s, no session log", String(format: "%.0f", Double(steps) / median(off)), "10,000 act steps, median of \(pairs)"),
            ("scripted steps/s, session log on", String(format: "%.0f", Double(steps) / median(on)), "finished episodes (~3 steps each) committed in groups ≤ 50 ms apart, WAL"),
            ("session log overhead, wall clock (min … max)", overhead(wall),
             "median of \(pairs) off/on pairs, turns of 1,000 steps; target < 5 %"),
            ("session log overhead, CPU time of the shell's thread (min … max)", overhead(cpu),
             "the same pairs"),
            ("session log overhead, CPU time of the process (min … max)", overhead(process),
             "the same pairs; the log's timer thread included"),
        ]
    }
}
