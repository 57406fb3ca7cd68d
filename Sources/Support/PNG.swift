/// PNG encoding of an `RGBImage` (8-bit RGB, no interlace): every row gets the PNG filter that suits it best and
/// the filtered rows are deflated by zlib, so a 300×300 Points24 frame (264 KiB of pixels) is about 2 KiB, which
/// is what a chat endpoint receives per request. Should zlib fail, the rows go out as stored deflate blocks (raw
/// size, still valid).
public enum PNG {
    public static func encode(_ img: RGBImage) -> [UInt8] { encode(img, level: ZlibStream.defaultLevel) }

    /// The Up filter on every row and zlib's fastest level: what the environment server sends with every
    /// observation (a drawn frame is mostly repeated rows, so it stays small; no per-row filter search).
    public static func encodeFast(_ img: RGBImage) -> [UInt8] { encode(img, level: 1, filter: .up) }

    /// `level` is zlib's (an invalid one makes zlib fail, which tests use); `filter` forces one filter on every row.
    static func encode(_ img: RGBImage, level: Int32, filter: PNGFilter? = nil) -> [UInt8] {
        let rows = PNGFilter.apply(img.pixels, rowBytes: img.width * 3, height: img.height, bpp: 3, only: filter)
        var out: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        var ihdr = [UInt8]()
        appendBE32(&ihdr, UInt32(img.width)); appendBE32(&ihdr, UInt32(img.height))
        ihdr += [8, 2, 0, 0, 0]  // 8-bit, RGB, deflate, adaptive filtering (method 0), no interlace
        chunk(&out, "IHDR", ihdr)
        chunk(&out, "IDAT", ZlibStream.make(rows, level: level))
        chunk(&out, "IEND", [])
        return out
    }

    static func chunk(_ out: inout [UInt8], _ type: String, _ data: [UInt8]) {
        appendBE32(&out, UInt32(data.count))
        let t = Array(type.utf8)
        out += t; out += data
        appendBE32(&out, crc32(t + data))
    }

    static func appendBE32(_ a: inout [UInt8], _ v: UInt32) {
        a += [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)]
    }

    /// The CRC-32 that closes every chunk (over its type and data).
    public static func crc32(_ data: [UInt8]) -> UInt32 { ZlibStream.crc32(data) }
}
