import CZlib

/// zlib streams (RFC 1950), as PNG's image data needs them: compressed by the system zlib, or, should zlib refuse,
/// written as stored (uncompressed) deflate blocks, which every reader accepts too. Nothing here can fail.
enum ZlibStream {
    /// zlib's own default trade-off. On a filtered Points24 frame level 9 saves another ~15 % (2.1 → 1.8 KiB) for
    /// 3–5× the time; level 1 doubles the size.
    static let defaultLevel: Int32 = 6

    /// `bytes` deflated at `level` (0…9), or stored blocks when zlib reports an error.
    static func make(_ bytes: [UInt8], level: Int32 = defaultLevel) -> [UInt8] {
        compressed(bytes, level: level) ?? stored(bytes)
    }

    /// zlib's `compress2`; nil on any error (a bad level, no memory).
    static func compressed(_ bytes: [UInt8], level: Int32) -> [UInt8]? {
        var capacity = compressBound(uLong(bytes.count))
        var out = [UInt8](repeating: 0, count: Int(capacity))
        let rc = out.withUnsafeMutableBufferPointer { dst in
            bytes.withUnsafeBufferPointer { src in
                compress2(dst.baseAddress, &capacity, src.baseAddress, uLong(src.count), level)
            }
        }
        guard rc == Z_OK else { return nil }
        out.removeLast(out.count - Int(capacity))
        return out
    }

    /// A zlib header, stored blocks of at most 65,535 bytes, and the Adler-32 of the data.
    static func stored(_ bytes: [UInt8]) -> [UInt8] {
        var z: [UInt8] = [0x78, 0x01]
        z.reserveCapacity(bytes.count + bytes.count / 65535 * 5 + 16)
        var i = 0
        repeat {
            let n = min(65535, bytes.count - i)
            z.append(i + n == bytes.count ? 1 : 0)
            z += [UInt8(n & 0xFF), UInt8(n >> 8), UInt8(~n & 0xFF), UInt8((~n >> 8) & 0xFF)]
            z += bytes[i..<(i + n)]
            i += n
        } while i < bytes.count
        PNG.appendBE32(&z, adler32(bytes))
        return z
    }

    static func adler32(_ bytes: [UInt8]) -> UInt32 {
        UInt32(bytes.withUnsafeBufferPointer { CZlib.adler32(CZlib.adler32(0, nil, 0), $0.baseAddress, uInt($0.count)) })
    }

    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        UInt32(bytes.withUnsafeBufferPointer { CZlib.crc32(CZlib.crc32(0, nil, 0), $0.baseAddress, uInt($0.count)) })
    }
}
