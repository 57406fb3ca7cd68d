import Foundation
import Support

/// The tables, collapse facts and plots of an `ExperimentResult`: mean ± sample std (n − 1) over seeds and every
/// seed's own value, of the held-out evaluation at the end of each run, next to the initial policy's.
public struct ExperimentReport: Sendable {
    public let result: ExperimentResult

    public init(_ result: ExperimentResult) { self.result = result }

    /// The columns of the tables: metric name and header.
    public static let columns: [(metric: String, header: String, percent: Bool)] = [
        ("eval_success_greedy", "success", true),
        ("eval_return_greedy", "return", false),
        ("eval_valid_greedy", "valid JSON", true),
        ("eval_legal_greedy", "legal", true),
        ("eval_recognition_greedy", "card recog.", true),
        ("eval_relevance_greedy", "state relev.", true),
        ("eval_distinct1_greedy", "distinct-1", false),
        ("eval_distinct2_greedy", "distinct-2", false),
        ("eval_self_bleu_greedy", "self-BLEU", false),
        ("eval_distinct2_first_greedy", "distinct-2 (1st)", false),
        ("eval_thought_len_greedy", "thought tok.", false),
        ("eval_success_sampled", "success (sampled)", true),
    ]

    /// Metrics plotted over updates, one PNG each, one line per algorithm (mean over seeds).
    public static let plotted = ["eval_success_greedy", "eval_distinct2_greedy", "eval_distinct2_first_greedy", "eval_relevance_greedy", "eval_recognition_greedy",
                                 "eval_valid_greedy", "eval_legal_greedy", "eval_self_bleu_greedy", "train_return", "distinct2", "valid"]

    static func mean(_ v: [Double]) -> Double { v.isEmpty ? .nan : v.reduce(0, +) / Double(v.count) }
    static func std(_ v: [Double]) -> Double {
        guard v.count > 1 else { return 0 }
        let m = mean(v)
        return (v.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(v.count - 1)).squareRoot()
    }

    static func fmt(_ v: Double?, percent: Bool) -> String {
        guard let v, v.isFinite else { return "–" }
        return percent ? String(format: "%.1f %%", v * 100) : String(format: abs(v) >= 10 ? "%.1f" : "%.3f", v)
    }

    static func fmt(_ vs: [Double], percent: Bool) -> String {
        guard !vs.isEmpty else { return "–" }
        let m = mean(vs), s = std(vs)
        if vs.count == 1 { return fmt(m, percent: percent) }
        return percent ? String(format: "%.1f ± %.1f %%", m * 100, s * 100) : String(format: abs(m) >= 10 ? "%.1f ± %.1f" : "%.3f ± %.3f", m, s)
    }

    func cells(_ algo: TrainingAlgorithm) -> [ExperimentCell] { result.cells.filter { $0.algo == algo } }

    /// The initial policy's held-out metrics (the greedy ones are the same for every run; the first run's are used).
    public var initial: UpdateMetrics? { result.cells.first?.initialEvaluation }

    /// Final held-out values of `metric` over the seeds of `algo`.
    public func finals(_ algo: TrainingAlgorithm, _ metric: String) -> [Double] {
        cells(algo).compactMap { $0.finalEvaluation?[metric] }
    }

    /// Mean over seeds of `metric` for `algo`, at each update where every seed has it.
    public func curve(_ algo: TrainingAlgorithm, _ metric: String) -> [(x: Double, y: Double)] {
        let cs = cells(algo)
        guard let first = cs.first else { return [] }
        return first.history.compactMap { m -> (x: Double, y: Double)? in
            let vs = cs.compactMap { c in c.history.first { $0.update == m.update }?[metric] }
            return vs.count == cs.count && !vs.isEmpty ? (Double(m.update), ExperimentReport.mean(vs)) : nil
        }
    }

    /// The side-by-side table (Markdown): the initial policy, then mean ± std per algorithm.
    public var summaryTable: [String] {
        let cols = ExperimentReport.columns
        var lines = ["| policy | seeds | " + cols.map(\.header).joined(separator: " | ") + " |",
                     "|---|---|" + String(repeating: "---|", count: cols.count)]
        if let i = initial {
            lines.append("| initial (SFT) | – | " + cols.map { c in
                c.metric == "eval_success_sampled" ? ExperimentReport.fmt(result.cells.filter { $0.algo == result.config.algos[0] }
                    .compactMap { $0.initialEvaluation?[c.metric] }, percent: true) : ExperimentReport.fmt(i[c.metric], percent: c.percent)
            }.joined(separator: " | ") + " |")
        }
        for a in result.config.algos where !cells(a).isEmpty {
            lines.append("| \(a.rawValue) | \(cells(a).count) | " + cols.map { ExperimentReport.fmt(finals(a, $0.metric), percent: $0.percent) }.joined(separator: " | ") + " |")
        }
        return lines
    }

    /// Every run's own final values (Markdown).
    public var perSeedTable: [String] {
        let cols = ExperimentReport.columns
        var lines = ["| run | seed | updates | minutes | " + cols.map(\.header).joined(separator: " | ") + " |",
                     "|---|---|---|---|" + String(repeating: "---|", count: cols.count)]
        for a in result.config.algos {
            for c in cells(a) {
                let f = c.finalEvaluation
                lines.append("| \(a.rawValue) | \(c.seed) | \(f?.update ?? 0)\(c.complete ? "" : " (stopped)") | " + String(format: "%.1f", c.seconds / 60) + " | "
                             + cols.map { ExperimentReport.fmt(f?[$0.metric], percent: $0.percent) }.joined(separator: " | ") + " |")
            }
        }
        return lines
    }

    /// Held-out success by task type (household tasks), when the env names types: initial and mean ± std per algorithm.
    public var taskTypeTable: [String] {
        let prefix = "eval_success_greedy_"
        let kinds = Set(result.cells.flatMap { c in c.history.flatMap { $0.values.keys.filter { $0.hasPrefix(prefix) } } }).sorted()
        guard !kinds.isEmpty else { return [] }
        var lines = ["| policy | " + kinds.map { String($0.dropFirst(prefix.count)) }.joined(separator: " | ") + " |",
                     "|---|" + String(repeating: "---|", count: kinds.count)]
        if let i = initial { lines.append("| initial (SFT) | " + kinds.map { ExperimentReport.fmt(i[$0], percent: true) }.joined(separator: " | ") + " |") }
        for a in result.config.algos where !cells(a).isEmpty {
            lines.append("| \(a.rawValue) | " + kinds.map { ExperimentReport.fmt(finals(a, $0), percent: true) }.joined(separator: " | ") + " |")
        }
        return lines
    }

    /// Relative change of the mean final value from the initial policy's, in percent.
    public func change(_ algo: TrainingAlgorithm, _ metric: String) -> Double? {
        guard let i = initial?[metric], i != 0 else { return nil }
        let f = ExperimentReport.mean(finals(algo, metric))
        return f.isFinite ? (f - i) / abs(i) * 100 : nil
    }

    /// Mean over seeds of the rolling training return at the first and the last update.
    public func trainingReturn(_ algo: TrainingAlgorithm) -> (first: Double, last: Double)? {
        let cs = cells(algo)
        let firsts = cs.compactMap { $0.history.first { $0.update >= 1 }?["train_return"] }
        let lasts = cs.compactMap { $0.history.last?["train_return"] }
        guard !firsts.isEmpty, firsts.count == lasts.count else { return nil }
        return (ExperimentReport.mean(firsts), ExperimentReport.mean(lasts))
    }

    /// The collapse signature and the cure, as measured (plain facts, each with its target from issue 15).
    public var facts: [String] {
        var out: [String] = []
        func pct(_ v: Double?) -> String { v.map { String(format: "%+.0f %%", $0) } ?? "–" }
        for a in result.config.algos where !cells(a).isEmpty {
            var parts = ["distinct-2 \(pct(change(a, "eval_distinct2_greedy")))",
                         "distinct-2 of first thoughts \(pct(change(a, "eval_distinct2_first_greedy")))",
                         "card recognition \(pct(change(a, "eval_recognition_greedy")))",
                         "state relevance \(pct(change(a, "eval_relevance_greedy")))",
                         "valid JSON \(pct(change(a, "eval_valid_greedy")))",
                         "legal \(pct(change(a, "eval_legal_greedy")))",
                         "success \(pct(change(a, "eval_success_greedy")))"]
            if let r = trainingReturn(a) { parts.append(String(format: "rolling training return %.2f → %.2f", r.first, r.last)) }
            out.append("\(a.rawValue) vs the initial policy: " + parts.joined(separator: ", "))
        }
        let algos = Set(result.config.algos)
        if algos.contains(.ppo) {
            let d = change(.ppo, "eval_distinct2_greedy")
            out.append("collapse under ppo (distinct-2 down ≥ 50 %): " + (d.map { $0 <= -50 ? "yes" : "no" } ?? "–") + " (\(pct(d)))")
        }
        if algos.contains(.gtr) {
            let d = change(.gtr, "eval_distinct2_greedy")
            out.append("gtr diversity within 20 % of the initial policy: " + (d.map { abs($0) <= 20 ? "yes" : "no" } ?? "–") + " (\(pct(d)))")
            let g = ExperimentReport.mean(finals(.gtr, "eval_success_greedy"))
            if algos.contains(.ppo) {
                let p = ExperimentReport.mean(finals(.ppo, "eval_success_greedy"))
                out.append(String(format: "gtr success %.1f %% vs ppo %.1f %%: ", g * 100, p * 100)
                           + (p > 0 ? String(format: "%.2f×", g / p) : (g > 0 ? "ppo 0, gtr above it" : "both 0")) + " (target ≥ 3×)")
            }
            if algos.contains(.sftOnly) {
                let s = ExperimentReport.mean(finals(.sftOnly, "eval_success_greedy"))
                out.append(String(format: "gtr success %.1f %% vs sft-only %.1f %%: %@", g * 100, s * 100, g > s ? "above" : "not above"))
            }
        }
        return out
    }

    /// Everything as Markdown (what `experiment … out=DIR` writes to `report.md`).
    public var markdown: String {
        let c = result.config, b = c.base
        var l = ["# Thought-collapse experiment: \(b.env)", ""]
        l.append("Initialisation: \(c.initialisation). \(c.seeds.count) seed(s) (\(c.seeds.map(String.init).joined(separator: ", "))) × "
                 + "\(c.algos.map(\.rawValue).joined(separator: ", ")); \(b.updates) updates × \(b.envs) envs × \(b.steps) steps "
                 + "(\(b.updates * b.envs * b.steps) env steps per run), lr \(b.lr) cosine to \(b.lrFloor), λ \(b.lambda), "
                 + "temperature \(b.temperature), \(b.update.epochs) epochs of minibatch \(b.update.minibatch), truncation \(b.truncation ? "on" : "off"), "
                 + "format bonus \(b.formatBonus), max \(b.maxNewTokens) new tokens"
                 + (b.options.isEmpty ? "" : ", env options " + b.options.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")) + ".")
        l.append("Held-out set: \(b.evalEpisodes) episodes from seed \(b.evalSeed), no truncation, no corrector, greedy decoding "
                 + "(\"sampled\": temperature \(b.temperature)); evaluated before training and every \(b.evalEvery) update(s).")
        l.append(String(format: "Wall time %.1f min, %d run(s) at once.", result.seconds / 60, result.threads))
        l += ["", "## Final held-out evaluation, mean ± std over seeds", ""] + summaryTable
        if !taskTypeTable.isEmpty { l += ["", "## Held-out success by task type (greedy)", ""] + taskTypeTable }
        l += ["", "## Every run", ""] + perSeedTable
        l += ["", "## Collapse facts", ""] + facts.map { "- " + $0 }
        return l.joined(separator: "\n") + "\n"
    }

    /// The chart of one metric over updates, one line per algorithm (mean over its seeds).
    public func chart(_ metric: String, width: Int = 640, height: Int = 400) -> LineChart {
        let series = result.config.algos.filter { !cells($0).isEmpty }.map { a in
            LineChart.Series(name: "\(a.rawValue) (\(cells(a).count) seed\(cells(a).count == 1 ? "" : "s"))", points: curve(a, metric))
        }
        return LineChart(title: "\(result.config.base.env): \(metric)", xLabel: "update", yLabel: metric, series: series, width: width, height: height)
    }

    /// Writes report.md, results.json and one PNG per plotted metric into `dir`; returns the files written.
    public func write(to dir: URL, prefix: String = "collapse") throws -> [URL] {
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        var written: [URL] = []
        let md = dir.appendingPathComponent("\(prefix)-report.md")
        try markdown.write(to: md, atomically: true, encoding: .utf8)
        written.append(md)
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .prettyPrinted]
        enc.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        let json = dir.appendingPathComponent("\(prefix)-results.json")
        try enc.encode(result).write(to: json)
        written.append(json)
        for m in ExperimentReport.plotted where result.cells.contains(where: { $0.history.contains { $0[m] != nil } }) {
            let url = dir.appendingPathComponent("\(prefix)-\(m).png")
            try Data(PNG.encode(chart(m).render())).write(to: url)
            written.append(url)
        }
        return written
    }
}
