import Foundation
import Testing
@testable import Support

/// Charts and sparklines for `plot`: exact text for sparklines and ticks, and for images what a reader relies on
/// (each series in its colour where its values are, a legend, no crash and the requested size on any input).
@Suite struct ChartTests {
    // MARK: Sparkline

    @Test func sparklineSpansTheEightHeights() {
        #expect(Sparkline.line([1, 2, 3, 4, 5, 6, 7, 8]) == "▁▂▃▄▅▆▇█")
        #expect(Sparkline.line([8, 1]) == "█▁")
        #expect(Sparkline.line([1, 2, 3]) == "▁▅█")  // 2 is 3.5 of 7 steps up: rounds up
        #expect(Sparkline.line([]) == "")
    }

    @Test func sparklineGapsFlatAndWidth() {
        #expect(Sparkline.line([0, .nan, 1, .infinity]) == "▁ █ ")
        #expect(Sparkline.line([.nan, .nan]) == "  ")
        #expect(Sparkline.line([5, 5, 5]) == "▄▄▄")
        // Averaged into buckets when longer than the width; a bucket of only gaps is a gap.
        #expect(Sparkline.line([0, 0, 1, 1], width: 2) == "▁█")
        #expect(Sparkline.line([0, 2, .nan, .nan, 7, 7], width: 3) == "▁ █")
        #expect(Sparkline.line(Array(repeating: 1, count: 100) + Array(repeating: 9, count: 100), width: 4) == "▁▁██")
        #expect(Sparkline.line([1, 2, 3], width: 10) == "▁▅█")  // never stretched
        #expect(Sparkline.line([1, 2, 3], width: 0) == "")
        #expect(Sparkline.line([-.greatestFiniteMagnitude, .greatestFiniteMagnitude]) == "▁█")
    }

    @Test func sparklineSummary() {
        #expect(Sparkline.summary([0.1, 0.5, 0.25]) == "▁█▄ min 0.1 max 0.5 last 0.25")
        #expect(Sparkline.summary([]) == "(no values)")
        #expect(Sparkline.summary([.nan]) == "  (no finite values)")
    }

    // MARK: Ticks and numbers

    @Test func niceTicksStepByOneTwoOrFive() {
        #expect(ChartTicks(from: 0, to: 1, count: 5).values == [0, 0.2, 0.4, 0.6, 0.8, 1])
        #expect(ChartTicks(from: 0, to: 1, count: 5).step == 0.2)
        #expect(ChartTicks(from: 1, to: 0, count: 5).values == [0, 0.2, 0.4, 0.6, 0.8, 1])
        #expect(ChartTicks(from: 0, to: 10, count: 5).values == [0, 2, 4, 6, 8, 10])
        #expect(ChartTicks(from: 0, to: 100, count: 4).values == [0, 50, 100])
        #expect(ChartTicks(from: 0.3, to: 0.7, count: 4).values == [0.3, 0.4, 0.5, 0.6, 0.7])
        #expect(ChartTicks(from: -0.03, to: 0.07, count: 5).values == [-0.02, 0, 0.02, 0.04, 0.06])
        #expect(ChartTicks(from: 1.5, to: 48.5, count: 5).values == [10, 20, 30, 40])
        #expect(ChartTicks(from: 3, to: 3).values == [3])
        #expect(ChartTicks(from: 0, to: .infinity).values.isEmpty)
        #expect(ChartTicks(from: .nan, to: 1).values.isEmpty)
        #expect(ChartTicks(from: -.greatestFiniteMagnitude, to: .greatestFiniteMagnitude).values.count == 2)
    }

    @Test func tickLabelsShareDecimalsOrUseExponents() {
        #expect(ChartTicks(from: 0, to: 1, count: 5).labels == ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"])
        #expect(ChartTicks(from: 0, to: 10, count: 5).labels == ["0", "2", "4", "6", "8", "10"])
        #expect(ChartTicks(from: -0.03, to: 0.07, count: 5).labels == ["-0.02", "0.00", "0.02", "0.04", "0.06"])
        #expect(ChartTicks(from: 0, to: 0.25, count: 5).labels == ["0.00", "0.05", "0.10", "0.15", "0.20", "0.25"])
        #expect(ChartTicks(from: 0, to: 5e-5, count: 5).labels == ["0", "1e-5", "2e-5", "3e-5", "4e-5", "5e-5"])
        #expect(ChartTicks(from: 0, to: 2.5e6, count: 5).labels == ["0", "5e5", "1e6", "1.5e6", "2e6", "2.5e6"])
        #expect(ChartTicks(from: 3, to: 3).labels == ["3"])
    }

    @Test func compactNumbers() {
        #expect(ChartTicks.compact(0.25) == "0.25")
        #expect(ChartTicks.compact(1234.5) == "1235")
        #expect(ChartTicks.compact(0.001) == "0.001")
        #expect(ChartTicks.compact(0.0001) == "1e-4")
        #expect(ChartTicks.compact(-0.00012345) == "-1.235e-4")
        #expect(ChartTicks.compact(2.5e7) == "2.5e7")
        #expect(ChartTicks.compact(9.99996e6) == "1e7")  // rounding carries into the next power of ten
        #expect(ChartTicks.compact(-3) == "-3")
        #expect(ChartTicks.compact(0) == "0")
        #expect(ChartTicks.compact(.nan) == "nan" && ChartTicks.compact(-.infinity) == "-inf")
    }

    // MARK: Chart images

    /// The pixels of one exact colour, as (x, y).
    static func pixels(of color: RGB, in image: RGBImage) -> [(x: Int, y: Int)] {
        var found: [(x: Int, y: Int)] = []
        for y in 0..<image.height { for x in 0..<image.width where image[x, y] == color { found.append((x, y)) } }
        return found
    }

    static let twoSeries = LineChart(
        title: "PPO updates", xLabel: "update", yLabel: "value",
        series: [
            .init(name: "return", values: (0..<40).map { 0.9 - 0.5 * exp(-Double($0) / 8) }),
            .init(name: "loss", values: (0..<40).map { 0.1 + 0.05 * sin(Double($0)) }),
        ])

    @Test func seriesColoursLieWhereTheirValuesAre() {
        let image = Self.twoSeries.render()
        #expect(image.width == 800 && image.height == 480)
        let high = Self.pixels(of: LineChart.palette[0], in: image), low = Self.pixels(of: LineChart.palette[1], in: image)
        #expect(high.count > 300 && low.count > 300)
        // In the middle of the plot the return (≈0.9) is drawn well above the loss (≈0.1); rows grow downwards.
        let middle = 400
        let highRows = high.filter { abs($0.x - middle) <= 2 }.map(\.y)
        let lowRows = low.filter { abs($0.x - middle) <= 2 }.map(\.y)
        #expect(!highRows.isEmpty && !lowRows.isEmpty)
        #expect((highRows.max() ?? .max) + 150 < (lowRows.min() ?? 0))
        // The rest is white background, greys and text: nothing drawn in a third palette colour.
        #expect(Self.pixels(of: LineChart.palette[2], in: image).isEmpty)
    }

    @Test func legendHasASwatchPerSeries() {
        let image = Self.twoSeries.render()
        // A swatch is a solid block of the series' colour, which no 2-pixel line makes.
        func swatch(_ colour: RGB) -> (x: Int, y: Int)? {
            Self.pixels(of: colour, in: image).first { p in
                p.x + 12 <= image.width && p.y + 8 <= image.height
                    && (0..<8).allSatisfy { dy in (0..<12).allSatisfy { dx in image[p.x + dx, p.y + dy] == colour } }
            }
        }
        let first = swatch(LineChart.palette[0]), second = swatch(LineChart.palette[1])
        #expect(first != nil && second != nil)
        if let first, let second {
            #expect(first.x == second.x && second.y > first.y)  // one row per series, in order
            #expect(image[first.x - 4, first.y] == .white)  // on the legend's white box, inside its border
        }
        #expect(!Self.pixels(of: LineChart.legendBorder, in: image).isEmpty)
    }

    @Test func nonFiniteValuesBreakTheLine() {
        func inked(_ points: [(x: Double, y: Double)]) -> Int {
            let chart = LineChart(series: [.init(name: "a", points: points)])
            return Self.pixels(of: LineChart.palette[0], in: chart.render()).count
        }
        let joined = inked([(1, 0), (3, 0)]), broken = inked([(1, 0), (2, .nan), (3, 0)])
        #expect(broken > 0)
        #expect(broken * 3 < joined)
    }

    @Test func emptyChartSaysNoData() {
        let image = LineChart(title: "nothing yet").render()
        #expect(image.width == 800 && image.height == 480)
        #expect(!Self.pixels(of: LineChart.noDataColor, in: image).isEmpty)
        #expect(!Self.pixels(of: LineChart.frameColor, in: image).isEmpty)
    }

    @Test func degenerateInputsRenderAtTheRequestedSize() {
        let big = Double.greatestFiniteMagnitude
        let cases: [[LineChart.Series]] = [
            [],
            [.init(name: "", points: [])],
            [.init(name: "one point", points: [(5, 0.5)])],
            [.init(name: "flat", values: [2, 2, 2, 2])],
            [.init(name: "zero", values: [0, 0])],
            [.init(name: "same x", points: [(3, 1), (3, 2), (3, 5)])],
            [.init(name: "gaps", values: [.nan, .infinity, -.infinity, .nan])],
            [.init(name: "wild x", points: [(.nan, 1), (.infinity, 2), (1, .nan)])],
            [.init(name: "huge", values: [-big, big, 0])],
            [.init(name: "tiny", values: [.leastNonzeroMagnitude, 2 * .leastNonzeroMagnitude, 0])],
            [.init(name: "far x", points: [(-big, 0), (big, 1)])],
            [.init(name: "unsorted", points: [(3, 1), (1, 2), (2, 0), (10, 4)])],
            [.init(name: String(repeating: "a very long metric name ", count: 20), values: [1, 2])],
            (0..<20).map { .init(name: "series \($0)", values: [Double($0), Double($0 + 1)]) },
        ]
        for series in cases {
            for (w, h) in [(800, 480), (320, 200), (120, 80), (10, 10), (1, 1)] {
                let image = LineChart(title: "t", xLabel: "x", yLabel: "y", series: series, width: w, height: h).render()
                #expect(image.width == w && image.height == h)
            }
        }
        let odd = LineChart(series: [.init(name: "a", values: [1])], width: 0, height: -5).render()
        #expect(odd.width == 1 && odd.height == 1)
    }

    @Test func everySeriesGetsItsOwnColour() {
        let colours = (0..<24).map { LineChart.color(forSeries: $0) }
        #expect(Array(colours.prefix(8)) == LineChart.palette)
        for i in colours.indices { for j in colours.indices where i < j { #expect(colours[i] != colours[j]) } }
        #expect(LineChart.color(forSeries: -1) != .white)
    }

    @Test func wholeNumberXGetsWholeTicks() {
        let ticks = LineChart.xTicks(0, 4, plotWidth: 700, scale: 2, wholeUnits: true)
        #expect(ticks.values.allSatisfy { $0 == $0.rounded() } && !ticks.values.isEmpty)
        let single = LineChart.xTicks(0.9, 1.1, plotWidth: 700, scale: 2, wholeUnits: true)
        #expect(single.values == [1])
    }

    @Test func upwardTextReadsBottomToTop() {
        // "L" is its left column and bottom row; turned anticlockwise they become the bottom row and right column.
        var image = RGBImage(width: 7, height: 6, fill: .white)
        BitmapFont.drawUp("L", x: 0, y: 0, scale: 1, color: .black, on: &image)
        #expect((0..<7).allSatisfy { image[$0, 5] == .black })
        #expect((1..<6).allSatisfy { image[6, $0] == .black })
        #expect(image[0, 1] == .white && (0..<7).allSatisfy { image[$0, 0] == .white })
    }

    /// Writes the two-series demo chart as a PNG where GTR_CHART_DEMO points, for a person to look at.
    @Test func demoPNG() throws {
        let png = PNG.encode(Self.twoSeries.render())
        #expect(Array(png.prefix(4)) == [0x89, 0x50, 0x4E, 0x47])
        if let path = ProcessInfo.processInfo.environment["GTR_CHART_DEMO"] {
            try Data(png).write(to: URL(fileURLWithPath: path))
        }
    }
}
