/// A line chart drawn into an `RGBImage` with the built-in bitmap font: what the shell's `plot` shows of training
/// metrics over PPO updates. White background, framed plot, nice ticks with grid lines and labels, axis labels, a
/// title, and a legend placed in the plot corner that hides the least data. Any input renders; points with a
/// non-finite coordinate are skipped and break their line there.
public struct LineChart: Sendable {
    /// One named line: its points are joined in the order given.
    public struct Series: Sendable {
        public var name: String
        public var points: [(x: Double, y: Double)]

        public init(name: String, points: [(x: Double, y: Double)]) {
            self.name = name; self.points = points
        }

        /// Values at x = first, first + 1, …: a metric recorded once per update.
        public init(name: String, values: [Double], first: Double = 1) {
            self.init(name: name, points: values.enumerated().map { (first + Double($0.offset), $0.element) })
        }
    }

    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var series: [Series]
    /// Requested size in pixels; `render` keeps each side within 1…`maxSide`.
    public var width: Int
    public var height: Int

    public init(title: String = "", xLabel: String = "", yLabel: String = "", series: [Series] = [],
                width: Int = 800, height: Int = 480) {
        self.title = title; self.xLabel = xLabel; self.yLabel = yLabel; self.series = series
        self.width = width; self.height = height
    }

    /// The largest side `render` draws, so a typo in a size cannot ask for gigabytes.
    public static let maxSide = 8192

    /// Eight colours that read well on white and apart from each other, used in order.
    public static let palette: [RGB] = [
        RGB(hex: 0x1F77B4), RGB(hex: 0xFF7F0E), RGB(hex: 0x2CA02C), RGB(hex: 0xD62728),
        RGB(hex: 0x9467BD), RGB(hex: 0x8C564B), RGB(hex: 0xE377C2), RGB(hex: 0x17BECF),
    ]

    /// The colour of the series at `index`: the palette first, then darker hues spread by the golden angle, so
    /// later series differ from one another and from the palette's brighter tones.
    public static func color(forSeries index: Int) -> RGB {
        if index >= 0, index < palette.count { return palette[index] }
        let hue = (Double(index.magnitude % 1000) * 0.618_033_988_75).truncatingRemainder(dividingBy: 1)
        return hsv(hue: hue, saturation: 0.9, value: 0.55)
    }

    // The chart's greys.
    static let textColor = RGB(hex: 0x222222)
    static let frameColor = RGB(hex: 0x444444)
    static let gridColor = RGB(hex: 0xE8E8E8)
    static let zeroColor = RGB(hex: 0xBBBBBB)
    static let noDataColor = RGB(hex: 0x888888)
    static let legendBorder = RGB(hex: 0x999999)

    public func render() -> RGBImage {
        let w = min(max(1, width), Self.maxSide), h = min(max(1, height), Self.maxSide)
        var image = RGBImage(width: w, height: h, fill: .white)
        // Text at twice the font's size unless the image is small; the title one step larger.
        let s = min(w, h) >= 320 ? 2 : 1
        let titleScale = w >= 480 && h >= 240 ? s + 1 : s
        let glyphH = BitmapFont.glyphHeight * s, cell = (BitmapFont.glyphWidth + 1) * s
        let gap = 3 * s, tickLength = 2 * s + 1, pad = 5 * s

        if !title.isEmpty {
            let text = Self.fit(title, scale: titleScale, into: w - 2 * pad)
            let x = (w - Self.textWidth(text, scale: titleScale)) / 2
            BitmapFont.draw(text, x: max(0, x), y: pad, scale: titleScale, color: Self.textColor, on: &image)
        }

        // Vertical layout: title, plot, then frame, tick marks, tick labels and the x label below it.
        let top = pad + (title.isEmpty ? glyphH / 2 : BitmapFont.glyphHeight * titleScale + 2 * gap)
        let bottom = 1 + tickLength + gap + glyphH + (xLabel.isEmpty ? 0 : 2 * gap + glyphH) + pad
        let plotTop = top, plotBottom = h - 1 - bottom  // inclusive rows inside the frame
        let plotH = plotBottom - plotTop + 1

        let finite = series.map { $0.points.filter { $0.x.isFinite && $0.y.isFinite } }
        let xs = finite.flatMap { $0.map(\.x) }, ys = finite.flatMap { $0.map(\.y) }
        let hasData = !xs.isEmpty
        let integerX = hasData && xs.allSatisfy { $0 == $0.rounded() && abs($0) < 1e15 }
        let (y0, y1) = Self.viewRange(ys, wholeUnits: false)
        let (x0, x1) = Self.viewRange(xs, wholeUnits: integerX)

        // About one y tick per 25 text pixels, but at least two when a finer step finds them, so values can be read.
        var yTicks = ChartTicks(from: y0, to: y1, count: max(1, plotH / (25 * s)))
        for finer in 1...3 where yTicks.values.count < 2 {
            yTicks = ChartTicks(from: y0, to: y1, count: max(1, plotH / (25 * s)) + finer)
        }
        let yTickLabels = yTicks.labels.map { Self.fit($0, scale: s, into: w / 4) }
        let yTickWidth = yTickLabels.map { Self.textWidth($0, scale: s) }.max() ?? 0

        // Horizontal layout: y label, tick labels, tick marks and frame, plot, and room for the last x label.
        let left = pad + (yLabel.isEmpty ? 0 : glyphH + 2 * gap) + yTickWidth + gap + tickLength + 1
        let plotLeft = left, plotRight = w - 1 - (pad + 2 * cell)
        let plotW = plotRight - plotLeft + 1
        guard plotW >= 2, plotH >= 2 else { return image }  // too small for a plot: the title alone

        let xTicks = Self.xTicks(x0, x1, plotWidth: plotW, scale: s, wholeUnits: integerX)
        let xTickLabels = xTicks.labels

        func column(_ x: Double) -> Double { Double(plotLeft) + Self.fraction(x, x0, x1) * Double(plotW - 1) }
        func row(_ y: Double) -> Double { Double(plotBottom) - Self.fraction(y, y0, y1) * Double(plotH - 1) }

        // Grid first, so data lies over it; y = 0 a shade darker when it is in view.
        for t in yTicks.values {
            image.fillRect(x: plotLeft, y: Self.pixel(row(t)), w: plotW, h: 1, t == 0 ? Self.zeroColor : Self.gridColor)
        }
        for t in xTicks.values { image.fillRect(x: Self.pixel(column(t)), y: plotTop, w: 1, h: plotH, Self.gridColor) }
        if y0 < 0, y1 > 0, !yTicks.values.contains(0) {
            image.fillRect(x: plotLeft, y: Self.pixel(row(0)), w: plotW, h: 1, Self.zeroColor)
        }

        // Each series through one coverage mask: 2-pixel anti-aliased lines, markers where points are sparse
        // enough to tell apart, and always on a point with no neighbour to join (else it would not show).
        var mask = CoverageMask(width: w, height: h, clip: (plotLeft, plotTop, plotRight + 1, plotBottom + 1))
        let thickness = s == 2 ? 2.0 : 1.5, markerRadius = s == 2 ? 2.5 : 1.5
        for (index, one) in series.enumerated() {
            let markAll = finite[index].count <= plotW / (6 * s)
            let placed = one.points.map { p -> (x: Double, y: Double)? in
                p.x.isFinite && p.y.isFinite ? (column(p.x), row(p.y)) : nil
            }
            for (i, p) in placed.enumerated() {
                guard let p else { continue }
                let before = i > 0 ? placed[i - 1] : nil, after = i + 1 < placed.count ? placed[i + 1] : nil
                if let before { mask.stroke(from: before, to: p, thickness: thickness) }
                if markAll || (before == nil && after == nil) { mask.dot(at: p, radius: markerRadius) }
            }
            mask.composite(Self.color(forSeries: index), onto: &image)
        }

        // The frame, one pixel outside the plot, then tick marks and labels outside the frame.
        let frameLeft = plotLeft - 1, frameTop = plotTop - 1, frameW = plotW + 2, frameH = plotH + 2
        image.fillRect(x: frameLeft, y: frameTop, w: frameW, h: 1, Self.frameColor)
        image.fillRect(x: frameLeft, y: plotBottom + 1, w: frameW, h: 1, Self.frameColor)
        image.fillRect(x: frameLeft, y: frameTop, w: 1, h: frameH, Self.frameColor)
        image.fillRect(x: plotRight + 1, y: frameTop, w: 1, h: frameH, Self.frameColor)
        for (t, label) in zip(yTicks.values, yTickLabels) {
            let y = Self.pixel(row(t))
            image.fillRect(x: frameLeft - tickLength, y: y, w: tickLength, h: 1, Self.frameColor)
            let x = frameLeft - tickLength - gap - Self.textWidth(label, scale: s)
            let top = min(max(0, y - glyphH / 2), h - glyphH)
            BitmapFont.draw(label, x: x, y: top, scale: s, color: Self.textColor, on: &image)
        }
        let tickLabelTop = plotBottom + 2 + tickLength + gap
        for (t, label) in zip(xTicks.values, xTickLabels) {
            let x = Self.pixel(column(t))
            image.fillRect(x: x, y: plotBottom + 2, w: 1, h: tickLength, Self.frameColor)
            let width = Self.textWidth(label, scale: s)
            let left = min(max(0, x - width / 2), w - width)
            BitmapFont.draw(label, x: left, y: tickLabelTop, scale: s, color: Self.textColor, on: &image)
        }

        if !xLabel.isEmpty {
            let text = Self.fit(xLabel, scale: s, into: w - 2 * pad)
            let x = min(max(0, plotLeft + (plotW - Self.textWidth(text, scale: s)) / 2), w - Self.textWidth(text, scale: s))
            BitmapFont.draw(text, x: max(0, x), y: tickLabelTop + glyphH + 2 * gap, scale: s, color: Self.textColor,
                            on: &image)
        }
        if !yLabel.isEmpty {
            let text = Self.fit(yLabel, scale: s, into: h - 2 * pad)
            let length = Self.textWidth(text, scale: s)
            let y = min(max(0, plotTop + (plotH - length) / 2), h - length)
            BitmapFont.drawUp(text, x: pad, y: max(0, y), scale: s, color: Self.textColor, on: &image)
        }

        if !hasData {
            let text = "no data", width = Self.textWidth("no data", scale: s)
            BitmapFont.draw(text, x: plotLeft + (plotW - width) / 2, y: plotTop + (plotH - glyphH) / 2, scale: s,
                            color: Self.noDataColor, on: &image)
        }
        if !series.isEmpty {
            drawLegend(on: &image, plot: (plotLeft, plotTop, plotRight, plotBottom), scale: s)
        }
        return image
    }

    /// The legend: a white box with a colour swatch and the name of each series, in whichever corner of the plot
    /// covers the fewest data pixels (top right when it is a tie).
    private func drawLegend(on image: inout RGBImage, plot: (left: Int, top: Int, right: Int, bottom: Int), scale s: Int) {
        let glyphH = BitmapFont.glyphHeight * s, gap = 3 * s
        let swatchW = 4 * gap + 2 * s, swatchH = glyphH - 2 * s
        let plotW = plot.right - plot.left + 1
        let names = series.map { Self.fit($0.name, scale: s, into: max(4 * 6 * s, plotW / 2 - swatchW - 6 * gap)) }
        let nameW = names.map { Self.textWidth($0, scale: s) }.max() ?? 0
        let rowH = glyphH + gap + s
        let boxW = 2 * gap + swatchW + 2 * gap + nameW + 2 * gap
        let boxH = 2 * gap + names.count * rowH - (rowH - glyphH) + 2 * gap
        let inset = 2 * gap
        let leftX = plot.left + inset, rightX = plot.right - inset - boxW + 1
        let topY = plot.top + inset, bottomY = plot.bottom - inset - boxH + 1
        let corners = [(rightX, topY), (leftX, topY), (rightX, bottomY), (leftX, bottomY)]
        // Ink is whatever is not background or grid: the series' lines and markers.
        let backdrop = [RGB.white, Self.gridColor, Self.zeroColor]
        func hidden(_ corner: (Int, Int)) -> Int {
            var n = 0
            for y in max(0, corner.1)..<max(max(0, corner.1), min(image.height, corner.1 + boxH)) {
                for x in max(0, corner.0)..<max(max(0, corner.0), min(image.width, corner.0 + boxW))
                where !backdrop.contains(image[x, y]) { n += 1 }
            }
            return n
        }
        var best = corners[0], fewest = hidden(corners[0])
        for corner in corners.dropFirst() where fewest > 0 {
            let n = hidden(corner)
            if n < fewest { best = corner; fewest = n }
        }
        let (x, y) = best
        image.fillRect(x: x, y: y, w: boxW, h: boxH, .white)
        image.fillRect(x: x, y: y, w: boxW, h: 1, Self.legendBorder)
        image.fillRect(x: x, y: y + boxH - 1, w: boxW, h: 1, Self.legendBorder)
        image.fillRect(x: x, y: y, w: 1, h: boxH, Self.legendBorder)
        image.fillRect(x: x + boxW - 1, y: y, w: 1, h: boxH, Self.legendBorder)
        for (i, name) in names.enumerated() {
            let rowTop = y + 2 * gap + i * rowH
            image.fillRect(x: x + 2 * gap, y: rowTop + s, w: swatchW, h: swatchH, Self.color(forSeries: i))
            BitmapFont.draw(name, x: x + 4 * gap + swatchW, y: rowTop, scale: s, color: Self.textColor, on: &image)
        }
    }

    /// X ticks as many as fit: fewer when their labels would touch, and whole numbers only when every x is
    /// whole (updates are counted, there is no update 2.5).
    static func xTicks(_ x0: Double, _ x1: Double, plotWidth: Int, scale s: Int, wholeUnits: Bool) -> ChartTicks {
        let cell = (BitmapFont.glyphWidth + 1) * s
        var count = max(1, plotWidth / (50 * s))
        while true {
            let ticks = ChartTicks(from: x0, to: x1, count: count)
            let spacing = fraction(x0 + ticks.step, x0, x1) * Double(plotWidth)
            let widest = ticks.labels.map { textWidth($0, scale: s) }.max() ?? 0
            let fits = Double(widest + 2 * cell) <= spacing && (!wholeUnits || ticks.step >= 1)
            if fits || count == 1 {
                guard wholeUnits, ticks.step < 1 else { return ticks }
                // Even one interval steps below 1: mark the whole numbers in view instead.
                let first = x0.rounded(.up), last = x1.rounded(.down)
                return first <= last ? ChartTicks(from: first, to: last, count: max(1, Int(last - first))) : ticks
            }
            count -= 1
        }
    }

    /// The range an axis shows for `values`: their span plus a 4% margin each side, so no point sits on the frame.
    /// One distinct value is widened around itself (by 1 for whole units or zero, else by a tenth of it); no
    /// values show 0…1 with the same margin.
    static func viewRange(_ values: [Double], wholeUnits: Bool) -> (lo: Double, hi: Double) {
        guard let lo = values.min(), let hi = values.max() else { return viewRange([0, 1], wholeUnits: false) }
        let margin = lo == hi ? (wholeUnits || lo == 0 ? 1 : abs(lo) * 0.1) : (hi / 2 - lo / 2) * 0.08
        var a = lo - margin, b = hi + margin
        if !a.isFinite { a = lo }
        if !b.isFinite { b = hi }
        if !(a < b) { a = lo - 1; b = hi + 1 }  // a margin too small to register (subnormal values)
        if !(a < b) { a = lo; b = lo.nextUp }
        return (a, b)
    }

    /// Where `v` falls between `lo` (0) and `hi` (1), computed on halves so even ±Double.greatestFiniteMagnitude
    /// does not overflow.
    static func fraction(_ v: Double, _ lo: Double, _ hi: Double) -> Double {
        let span = hi / 2 - lo / 2
        guard span > 0 else { return 0.5 }
        let f = (v / 2 - lo / 2) / span
        return f.isFinite ? f : 0.5
    }

    /// A pixel coordinate from a Double, never trapping: out-of-range values land far off the image.
    static func pixel(_ v: Double) -> Int {
        guard v.isFinite else { return -1_000_000 }
        return Int(min(1e9, max(-1e9, v.rounded())))
    }

    /// Inked width of `text`: the font's advance less the blank column after the last glyph.
    static func textWidth(_ text: String, scale: Int) -> Int { max(0, BitmapFont.width(text, scale: scale) - scale) }

    /// `text` cut to fit `width` pixels, ending in ".." when cut.
    static func fit(_ text: String, scale: Int, into width: Int) -> String {
        guard textWidth(text, scale: scale) > width else { return text }
        let advance = (BitmapFont.glyphWidth + 1) * scale
        let keep = max(0, (width + scale) / advance - 2)
        return String(text.prefix(keep)) + ".."
    }

    /// A colour from hue, saturation and value, each 0…1.
    static func hsv(hue: Double, saturation: Double, value: Double) -> RGB {
        let h = hue * 6, sector = Int(h) % 6, f = h - h.rounded(.down)
        let p = value * (1 - saturation), q = value * (1 - saturation * f), t = value * (1 - saturation * (1 - f))
        let (r, g, b): (Double, Double, Double) = switch sector {
        case 0: (value, t, p)
        case 1: (q, value, p)
        case 2: (p, value, t)
        case 3: (p, q, value)
        case 4: (t, p, value)
        default: (value, p, q)
        }
        return RGB(UInt8((r * 255).rounded()), UInt8((g * 255).rounded()), UInt8((b * 255).rounded()))
    }
}
