/// PNG encoding with no zlib: the image data is a zlib stream of stored (uncompressed) deflate blocks, which any
/// PNG reader accepts. Files are about the raw size (270 KB for a 300×300 frame); `image` is a debugging aid, so
/// simplicity and zero dependencies win over size.
public enum PNG {
    public static func encode(_ img: RGBImage) -> [UInt8] {
        var raw = [UInt8]()
        raw.reserveCapacity(img.height * (1 + img.width * 3))
        for y in 0..<img.height {
            raw.append(0)  // filter type None
            let start = y * img.width * 3
            raw.append(contentsOf: img.pixels[start..<(start + img.width * 3)])
        }
        var z: [UInt8] = [0x78, 0x01]
        var i = 0
        repeat {
            let n = min(65535, raw.count - i)
            z.append(i + n == raw.count ? 1 : 0)
            z += [UInt8(n & 0xFF), UInt8(n >> 8), UInt8(~n & 0xFF), UInt8((~n >> 8) & 0xFF)]
            z += raw[i..<(i + n)]
            i += n
        } while i < raw.count
        appendBE32(&z, adler32(raw))

        var out: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        var ihdr = [UInt8]()
        appendBE32(&ihdr, UInt32(img.width)); appendBE32(&ihdr, UInt32(img.height))
        ihdr += [8, 2, 0, 0, 0]  // 8-bit, RGB, deflate, no filter, no interlace
        chunk(&out, "IHDR", ihdr)
        chunk(&out, "IDAT", z)
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

    private static let crcTable: [UInt32] = (0..<256).map { n -> UInt32 in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    public static func crc32(_ data: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in data { c = crcTable[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        return c ^ 0xFFFF_FFFF
    }

    public static func adler32(_ data: [UInt8]) -> UInt32 {
        var a: UInt32 = 1, b: UInt32 = 0
        var i = 0
        while i < data.count {
            let end = min(i + 5552, data.count)
            while i < end { a += UInt32(data[i]); b += a; i += 1 }
            a %= 65521; b %= 65521
        }
        return b << 16 | a
    }
}
