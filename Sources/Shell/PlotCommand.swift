import Foundation
import Support
import Training

/// `plot`: training metrics from the session log as sparklines, and as a PNG chart with a file name.
extension Shell {
    static let plotCommand = CommandSpec(
        name: "plot", group: "training",
        summary: "plot training metrics: a sparkline here, and a PNG chart (axes, ticks, legend) with a file name",
        example: "plot train_success,distinct2 chart.png",
        positionals: [.word("METRIC[,METRIC…]|compare"), .optional("FILE.png|METRIC"), .optional("FILE.png")],
        options: [OptionSpec("run", .text, "a run id, or A,B,… for compare (default: the current run)"),
                  OptionSpec("width", .int(200...4000), default: "800"), OptionSpec("height", .int(150...3000), default: "480")],
        usageOverride: "plot METRIC[,METRIC…] [run=ID] [FILE.png] | plot compare run=A,B METRIC [FILE.png]") { sh, a in
        try sh.plotCommand(a)
    }

    // MARK: plot

    func plotCommand(_ a: Arguments) throws {
        guard let log else { throw CommandError("plot reads the session log, which is off in this shell") }
        var words = a.positional
        let compare = words.first == "compare"
        if compare { words.removeFirst() }
        guard let metricWord = words.first else { throw CommandError("usage: plot METRIC[,METRIC…] [run=ID] [FILE.png] | plot compare run=A,B METRIC") }
        let file = words.count > 1 ? words[1] : nil
        if let f = file, !f.lowercased().hasSuffix(".png") { throw CommandError("\(f): the chart file must end in .png") }
        let metrics = metricWord.split(separator: ",").map(String.init)
        let runText = a.string("run") ?? training.map { String($0.id) }
        guard let runText else { throw CommandError("which run? plot METRIC run=ID (train runs lists them)") }
        let runs = try runText.split(separator: ",").map { w -> Int in
            guard let n = Int(w) else { throw CommandError("run=\(runText): expected run ids like 3 or 3,4") }
            return n
        }
        if compare && (runs.count < 2 || metrics.count != 1) { throw CommandError("usage: plot compare run=A,B METRIC [FILE.png]") }
        if !compare && runs.count != 1 { throw CommandError("several runs: plot compare run=\(runText) METRIC") }
        var series: [LineChart.Series] = []
        for run in runs {
            let known = try log.trainingMetricNames(run: run)
            guard !known.isEmpty else { throw CommandError("run \(run) has no metrics in \(log.path)") }
            for m in metrics {
                guard known.contains(m) else {
                    let best = known.min { editDistance($0, m) < editDistance($1, m) } ?? ""
                    throw CommandError("run \(run) logged no '\(m)'; did you mean '\(best)'?")
                }
                let points = try log.trainingMetric(run: run, name: m)
                let name = compare ? "run \(run)" : m
                series.append(LineChart.Series(name: name, points: points.map { (x: Double($0.update), y: $0.value) }))
                let values = points.map(\.value)
                out(name.padding(toLength: max(22, name.count), withPad: " ", startingAt: 0) + " " + Sparkline.summary(values, width: 40) + "  (updates \(points.first?.update ?? 0)…\(points.last?.update ?? 0))")
            }
        }
        guard let file else { return }
        let url = resolve(file)
        let chart = LineChart(title: compare ? "\(metrics[0]): runs \(runText)" : "run \(runs[0])", xLabel: "update",
                              yLabel: compare ? metrics[0] : metrics.joined(separator: ", "), series: series,
                              width: a.int("width") ?? 800, height: a.int("height") ?? 480)
        try writeFile(Data(PNG.encode(chart.render())), to: url.path)
        out("wrote \(url.path)")
    }
}
