/// A row-major H×W×3 UInt8 image, the observation format of every env (300×300×3 like gym-cards).
public struct RGBImage: Equatable, Sendable {
    public let width: Int
    public let height: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, fill: RGB = RGB(0, 0, 0)) {
        self.width = width; self.height = height
        pixels = [UInt8](repeating: 0, count: width * height * 3)
        if fill != RGB(0, 0, 0) { fillRect(x: 0, y: 0, w: width, h: height, fill) }
    }

    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(pixels.count == width * height * 3)
        self.width = width; self.height = height; self.pixels = pixels
    }

    public subscript(x: Int, y: Int) -> RGB {
        let i = (y * width + x) * 3
        return RGB(pixels[i], pixels[i + 1], pixels[i + 2])
    }

    @inline(__always) public mutating func set(_ x: Int, _ y: Int, _ c: RGB) {
        guard x >= 0, y >= 0, x < width, y < height else { return }
        let i = (y * width + x) * 3
        pixels[i] = c.r; pixels[i + 1] = c.g; pixels[i + 2] = c.b
    }

    public mutating func fillRect(x: Int, y: Int, w: Int, h: Int, _ c: RGB) {
        let x0 = max(0, x), y0 = max(0, y), x1 = min(width, x + w), y1 = min(height, y + h)
        guard x0 < x1, y0 < y1 else { return }
        pixels.withUnsafeMutableBufferPointer { p in
            for yy in y0..<y1 {
                var i = (yy * width + x0) * 3
                for _ in x0..<x1 { p[i] = c.r; p[i + 1] = c.g; p[i + 2] = c.b; i += 3 }
            }
        }
    }

    /// Fills every pixel whose centre satisfies `inside(dx, dy)` in the box, with coordinates relative to the
    /// box's top-left corner. Shapes (suit symbols, rounded corners) are drawn this way.
    public mutating func fillShape(x: Int, y: Int, w: Int, h: Int, _ c: RGB, inside: (Double, Double) -> Bool) {
        for yy in 0..<h {
            for xx in 0..<w where inside(Double(xx) + 0.5, Double(yy) + 0.5) { set(x + xx, y + yy, c) }
        }
    }

    /// FNV-1a 64 over the pixels: a cheap, stable fingerprint for golden tests.
    public var checksum: UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in pixels { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return h
    }
}

public struct RGB: Equatable, Sendable {
    public var r, g, b: UInt8
    public init(_ r: UInt8, _ g: UInt8, _ b: UInt8) { self.r = r; self.g = g; self.b = b }
    public init(hex: UInt32) { self.init(UInt8(hex >> 16 & 0xFF), UInt8(hex >> 8 & 0xFF), UInt8(hex & 0xFF)) }
    public static let white = RGB(255, 255, 255)
    public static let black = RGB(0, 0, 0)
}
