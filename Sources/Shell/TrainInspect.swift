import Foundation
import Training

/// `train inspect`: one update's rollout, step by step, with advantage, reward, verdict and thought.
extension Shell {
    // MARK: inspect

    func trainInspect(_ a: Arguments) throws {
        let r = try requireRun()
        guard !r.isRunning else { throw CommandError("run \(r.id) is running: train pause first (inspect reads the run's rollouts)") }
        let have = r.trainer.inspected.keys.sorted()
        guard let k = a.int("update") ?? have.last else { throw CommandError("run \(r.id) has no finished update yet") }
        guard var rows = r.trainer.inspected[k] else {
            throw CommandError("update \(k) is not kept (kept: \(have.map(String.init).joined(separator: ", ")); the last 20 updates of this shell's run)")
        }
        switch a.string("only") ?? "all" {
        case "corrected": rows = rows.filter(\.labelled)
        case "invalid": rows = rows.filter { !$0.valid }
        case "wrong": rows = rows.filter { $0.verdict == "NO" }
        default: break
        }
        switch a.string("sort") ?? "advantage" {
        case "-advantage": rows.sort { $0.advantage > $1.advantage }
        case "reward": rows.sort { $0.reward < $1.reward }
        case "step": rows.sort { ($0.envIndex, $0.t) < ($1.envIndex, $1.t) }
        default: rows.sort { $0.advantage < $1.advantage }
        }
        let total = rows.count
        rows = Array(rows.prefix(a.int("limit") ?? 20))
        out("update \(k) of run \(r.id): \(total) step(s)\(total > rows.count ? ", first \(rows.count)" : "")")
        out("env ep   t   advantage  reward  valid verdict action      thought")
        for x in rows {
            let verdict = (x.verdict ?? "-") + (x.labelled ? "*" : "") + (x.truncation.map { " cut:\($0)" } ?? "")
            let thought = x.thought.replacingOccurrences(of: "\n", with: " ")
            out(String(format: "%3d %4d %3d %+10.3f %+7.2f  %@   %-7@ %-11@ ", x.envIndex, x.episode, x.t, x.advantage, x.reward,
                       x.valid ? "yes" : "no ", verdict as NSString, String(x.action.prefix(11)) as NSString) + String(thought.prefix(70)))
            if x.labelled, let c = x.correction { out("    corrected → " + String(c.prefix(110))) }
        }
        out(config.style.dim("verdict * = the step earned an SFT label; cut: GTR truncation ended the episode there"))
    }
}
