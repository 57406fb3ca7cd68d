/// Anti-aliased ink for one colour: strokes and dots set each pixel's coverage (0…1, the larger wins, so where a
/// polyline's segments overlap at a joint it does not darken), then `composite` blends the colour through it.
/// Coordinates are in pixels with pixel (i, j)'s centre at (i, j); nothing lands outside `clip`.
struct CoverageMask {
    let width: Int
    let height: Int
    /// Half-open pixel bounds that take ink: x0..<x1, y0..<y1.
    let clip: (x0: Int, y0: Int, x1: Int, y1: Int)
    private var coverage: [Float]
    /// The inked region so far (inclusive), so compositing and clearing touch only that.
    private var dirty: (x0: Int, y0: Int, x1: Int, y1: Int)?

    init(width: Int, height: Int, clip: (x0: Int, y0: Int, x1: Int, y1: Int)) {
        self.width = max(0, width); self.height = max(0, height)
        self.clip = (max(0, clip.x0), max(0, clip.y0), min(self.width, clip.x1), min(self.height, clip.y1))
        coverage = [Float](repeating: 0, count: self.width * self.height)
    }

    /// A straight stroke `thickness` pixels wide from `a` to `b`, with round ends so consecutive strokes join.
    mutating func stroke(from a: (x: Double, y: Double), to b: (x: Double, y: Double), thickness: Double) {
        let radius = max(0.5, thickness / 2)
        let reach = radius + 0.5  // beyond this distance from the centre line a pixel gets no ink
        let dx = b.x - a.x, dy = b.y - a.y, length2 = dx * dx + dy * dy
        guard let rows = range(min(a.y, b.y) - reach, max(a.y, b.y) + reach, clip.y0, clip.y1),
              let columns = range(min(a.x, b.x) - reach, max(a.x, b.x) + reach, clip.x0, clip.x1),
              length2.isFinite else { return }
        let length = length2.squareRoot()
        for y in rows {
            var xs = columns
            // Only pixels within `reach` of the infinite line through a and b can be inked: on this row that is
            // a band around where the line crosses it, narrow unless the stroke is nearly horizontal.
            if dy != 0 {
                let cross = a.x + (Double(y) - a.y) * dx / dy, half = reach * length / abs(dy)
                if cross.isFinite, half.isFinite {
                    guard let band = range(cross - half, cross + half, columns.lowerBound, columns.upperBound + 1)
                    else { continue }
                    xs = band
                }
            }
            for x in xs {
                let px = Double(x) - a.x, py = Double(y) - a.y
                let t = length2 > 0 ? min(1, max(0, (px * dx + py * dy) / length2)) : 0
                let ex = px - t * dx, ey = py - t * dy
                ink(x, y, reach - (ex * ex + ey * ey).squareRoot())
            }
        }
    }

    /// A filled disc: a point marker, or the mark of a value with no neighbour to join.
    mutating func dot(at c: (x: Double, y: Double), radius: Double) {
        let reach = max(0.5, radius) + 0.5
        guard let rows = range(c.y - reach, c.y + reach, clip.y0, clip.y1),
              let columns = range(c.x - reach, c.x + reach, clip.x0, clip.x1) else { return }
        for y in rows {
            for x in columns {
                let ex = Double(x) - c.x, ey = Double(y) - c.y
                ink(x, y, reach - (ex * ex + ey * ey).squareRoot())
            }
        }
    }

    /// Blends `color` over `image` in proportion to the coverage, then clears the mask for the next colour.
    mutating func composite(_ color: RGB, onto image: inout RGBImage) {
        guard let d = dirty, image.width == width, image.height == height else { return }
        for y in d.y0...d.y1 {
            for x in d.x0...d.x1 {
                let i = y * width + x
                let a = coverage[i]
                guard a > 0 else { continue }
                coverage[i] = 0
                let old = image[x, y]
                func mix(_ from: UInt8, _ to: UInt8) -> UInt8 {
                    UInt8(min(255, max(0, (Float(from) + (Float(to) - Float(from)) * a).rounded())))
                }
                image.set(x, y, RGB(mix(old.r, color.r), mix(old.g, color.g), mix(old.b, color.b)))
            }
        }
        dirty = nil
    }

    /// Sets a pixel's coverage to `amount` (clamped to 0…1) if that is more than it has.
    private mutating func ink(_ x: Int, _ y: Int, _ amount: Double) {
        guard amount > 0 else { return }
        let i = y * width + x
        let a = Float(min(1, amount))
        guard a > coverage[i] else { return }
        coverage[i] = a
        if let d = dirty {
            dirty = (min(d.x0, x), min(d.y0, y), max(d.x1, x), max(d.y1, y))
        } else {
            dirty = (x, y, x, y)
        }
    }

    /// The whole pixels from `lo` to `hi` (rounded outward) that also lie in lower..<upper; nil when none do or an
    /// end is not a number.
    private func range(_ lo: Double, _ hi: Double, _ lower: Int, _ upper: Int) -> ClosedRange<Int>? {
        guard lo.isFinite, hi.isFinite, lower < upper else { return nil }
        let first = max(Double(lower), lo.rounded(.up)), last = min(Double(upper - 1), hi.rounded(.down))
        guard first <= last else { return nil }
        return Int(first)...Int(last)
    }
}
