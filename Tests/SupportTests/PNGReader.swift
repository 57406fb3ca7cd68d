import CZlib
@testable import Support

/// An independent reader for the PNGs gtr writes (8-bit RGB, no interlace): chunk CRCs checked, the image data
/// inflated by zlib and unfiltered here, written from the PNG spec rather than from the encoder.
struct PNGReader {
    struct Failure: Error, CustomStringConvertible { let description: String }

    var width = 0, height = 0
    var pixels: [UInt8] = []
    /// The filter-type byte of each row.
    var filters: [UInt8] = []
    /// The IDAT payload (the zlib stream).
    var idat: [UInt8] = []

    init(_ png: [UInt8]) throws {
        guard png.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) else { throw Failure(description: "bad signature") }
        func be32(_ i: Int) -> Int { png[i..<(i + 4)].reduce(0) { $0 << 8 | Int($1) } }
        var pos = 8, sawEnd = false
        while pos < png.count {
            let n = be32(pos), type = String(decoding: png[(pos + 4)..<(pos + 8)], as: UTF8.self)
            let body = Array(png[(pos + 8)..<(pos + 8 + n)])
            let typeAndBody = Array(png[(pos + 4)..<(pos + 8 + n)])
            let crc = typeAndBody.withUnsafeBufferPointer { UInt32(CZlib.crc32(0, $0.baseAddress, uInt($0.count))) }
            guard crc == UInt32(be32(pos + 8 + n)) else { throw Failure(description: "bad CRC in \(type)") }
            switch type {
            case "IHDR":
                width = body[0..<4].reduce(0) { $0 << 8 | Int($1) }
                height = body[4..<8].reduce(0) { $0 << 8 | Int($1) }
                guard Array(body[8...]) == [8, 2, 0, 0, 0] else { throw Failure(description: "not 8-bit RGB, method 0, no interlace") }
            case "IDAT": idat += body
            case "IEND": sawEnd = true
            default: throw Failure(description: "unexpected chunk \(type)")
            }
            pos += 12 + n
        }
        guard sawEnd else { throw Failure(description: "no IEND") }
        let stride = width * 3
        var raw = [UInt8](repeating: 0, count: height * (stride + 1))
        var rawCount = uLong(raw.count)
        let rc = raw.withUnsafeMutableBufferPointer { dst in
            idat.withUnsafeBufferPointer { uncompress(dst.baseAddress, &rawCount, $0.baseAddress, uLong($0.count)) }
        }
        guard rc == Z_OK, Int(rawCount) == raw.count else { throw Failure(description: "inflate failed (\(rc)) or wrong length") }
        pixels = [UInt8](repeating: 0, count: height * stride)
        for y in 0..<height {
            let f = raw[y * (stride + 1)]
            filters.append(f)
            for i in 0..<stride {
                let x = raw[y * (stride + 1) + 1 + i]
                let a = i >= 3 ? Int(pixels[y * stride + i - 3]) : 0
                let b = y > 0 ? Int(pixels[(y - 1) * stride + i]) : 0
                let c = y > 0 && i >= 3 ? Int(pixels[(y - 1) * stride + i - 3]) : 0
                let prediction: Int
                switch f {
                case 0: prediction = 0
                case 1: prediction = a
                case 2: prediction = b
                case 3: prediction = (a + b) / 2
                case 4:
                    let p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c)
                    prediction = pa <= pb && pa <= pc ? a : pb <= pc ? b : c
                default: throw Failure(description: "bad filter type \(f) in row \(y)")
                }
                pixels[y * stride + i] = UInt8((Int(x) + prediction) & 0xFF)
            }
        }
    }
}
