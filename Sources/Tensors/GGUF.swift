import Foundation

/// A GGUF metadata value (all integer widths widen to 64 bits; the file's own type is not needed by readers).
public enum GGUFValue: Equatable, Sendable {
    case uint(UInt64), int(Int64), float(Double), bool(Bool), string(String), array([GGUFValue])

    /// Any integer value that fits an `Int` (GGUF writers use u32 or u64 for the same counts).
    public var int: Int? {
        switch self {
        case let .uint(u): return u <= UInt64(Int.max) ? Int(u) : nil
        case let .int(i): return Int(exactly: i)
        default: return nil
        }
    }
    public var double: Double? {
        switch self {
        case let .float(d): return d
        case let .uint(u): return Double(u)
        case let .int(i): return Double(i)
        default: return nil
        }
    }
    public var string: String? { if case let .string(s) = self { return s }; return nil }
    public var array: [GGUFValue]? { if case let .array(a) = self { return a }; return nil }
    public var bool: Bool? { if case let .bool(b) = self { return b }; return nil }
}

/// A tensor of a GGUF file: `dims` innermost first (ggml's `ne`: `dims[0]` is the contiguous row length, so a
/// PyTorch `[out, in]` weight is `[in, out]` here), its type and where its bytes lie in the file.
public struct GGUFTensorInfo: Sendable, Equatable {
    public var name: String
    public var dims: [Int]
    public var type: GGMLType
    /// Absolute byte offset in the file.
    public var offset: Int
    public var byteCount: Int
    public var elementCount: Int
    /// Rows of `dims[0]` elements.
    public var rows: Int { dims.isEmpty ? 1 : elementCount / max(1, dims[0]) }
}

/// A GGUF file that cannot be read, in gtr's words (what is wrong and where).
public struct GGUFError: Error, CustomStringConvertible, Equatable {
    public var message: String
    /// One line of at most 280 characters: names and strings from a damaged file may hold control characters
    /// (a newline in a key) or be long, and the message quotes them.
    public init(_ message: String) {
        let scalars = message.unicodeScalars.map { $0.properties.generalCategory == .control ? "?" : $0 }
        let clean = String(String.UnicodeScalarView(scalars))
        self.message = clean.count > 280 ? String(clean.prefix(279)) + "…" : clean
    }
    public var description: String { message }
}

/// A GGUF v2/v3 file (spec: ggml `docs/gguf.md`), memory-mapped and validated on open: the header, every
/// metadata value (bounded counts and nesting, no duplicate keys), every tensor's dims, type, alignment and extent
/// (inside the file, no overlaps). Tensor bytes are read in place; `dequantize` turns a tensor into Float.
public final class GGUFFile: @unchecked Sendable {
    public let path: String
    public let version: UInt32
    public let alignment: Int
    /// Metadata in file order, and by key.
    public let keys: [String]
    public let metadata: [String: GGUFValue]
    public let tensors: [GGUFTensorInfo]
    public let tensorIndex: [String: Int]
    /// Where tensor data starts (aligned), in bytes from the file's start.
    public let dataOffset: Int
    let data: Data

    static let maxCount = 1 << 24, maxDepth = 8, maxNameBytes = 64

    public convenience init(path: String) throws {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { throw GGUFError("\(path): no such file") }
        guard !isDir.boolValue else { throw GGUFError("\(path): it is a directory, not a GGUF file") }
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) } catch {
            throw GGUFError("\(path): cannot be read")
        }
        try self.init(data: data, path: path)
    }

    public init(data: Data, path: String = "<memory>") throws {
        self.path = path
        self.data = data
        var r = Reader(data: data, path: path)
        guard data.count >= 24 else { throw GGUFError("\(path): \(data.count) bytes is too short for a GGUF header") }
        guard try r.u32() == 0x4655_4747 else { throw GGUFError("\(path): not a GGUF file (no GGUF magic)") }
        version = try r.u32()
        guard version == 2 || version == 3 else {
            throw GGUFError("\(path): GGUF version \(version) is not supported (2 and 3 are)")
        }
        let tensorCount = try r.count("tensor count"), kvCount = try r.count("metadata count")
        var keys: [String] = [], meta: [String: GGUFValue] = [:]
        for _ in 0..<kvCount {
            let key = try r.string("metadata key")
            guard meta[key] == nil else { throw GGUFError("\(path): metadata key '\(key.prefix(64))' appears twice") }
            let type = try r.u32()
            meta[key] = try r.value(type: type, depth: 0, key: key)
            keys.append(key)
        }
        self.keys = keys
        metadata = meta
        var align = 32
        if let a = meta["general.alignment"] {
            guard let v = a.int, v >= 8, v <= 1 << 20, v & (v - 1) == 0 else {
                throw GGUFError("\(path): general.alignment must be a power of two from 8 to 1 MiB")
            }
            align = v
        }
        alignment = align
        struct Raw { var name: String; var dims: [Int]; var type: GGMLType; var offset: Int }
        var raws: [Raw] = []
        var seen = Set<String>()
        for _ in 0..<tensorCount {
            let name = try r.string("tensor name")
            guard name.utf8.count <= Self.maxNameBytes else { throw GGUFError("\(path): tensor name '\(name.prefix(64))…' is longer than 64 bytes") }
            guard seen.insert(name).inserted else { throw GGUFError("\(path): tensor '\(name)' appears twice") }
            let nDims = Int(try r.u32())
            guard (1...4).contains(nDims) else { throw GGUFError("\(path): tensor '\(name)' has \(nDims) dims (1 to 4 are allowed)") }
            var dims: [Int] = []
            for _ in 0..<nDims {
                let d = try r.u64()
                guard d <= UInt64(1 << 40) else { throw GGUFError("\(path): tensor '\(name)' has a dim of \(d)") }
                dims.append(Int(d))
            }
            let typeID = try r.u32()
            guard let type = GGMLType(rawValue: typeID) else {
                throw GGUFError("\(path): tensor '\(name)' has ggml type \(typeID), which gtr does not read (\(GGMLType.supportedNames))")
            }
            let off = try r.u64()
            guard off <= UInt64(Int.max / 2) else { throw GGUFError("\(path): tensor '\(name)' has offset \(off)") }
            raws.append(Raw(name: name, dims: dims, type: type, offset: Int(off)))
        }
        let start = (r.position + align - 1) / align * align
        dataOffset = start
        var infos: [GGUFTensorInfo] = []
        for t in raws {
            var count = 1
            for d in t.dims {
                let (m, o) = count.multipliedReportingOverflow(by: d)
                guard !o, m <= 1 << 40 else { throw GGUFError("\(path): tensor '\(t.name)' has too many elements") }
                count = m
            }
            guard t.dims[0] % t.type.blockElements == 0 else {
                throw GGUFError("\(path): tensor '\(t.name)': rows of \(t.dims[0]) are not whole \(t.type.name) blocks of \(t.type.blockElements)")
            }
            guard t.offset % align == 0 else { throw GGUFError("\(path): tensor '\(t.name)' is not aligned to \(align) bytes") }
            let bytes = count / t.type.blockElements * t.type.blockBytes
            let abs = start + t.offset
            guard abs <= data.count, bytes <= data.count - abs else {
                throw GGUFError("\(path): tensor '\(t.name)' (\(bytes) bytes at \(abs)) runs past the end of the \(data.count)-byte file")
            }
            infos.append(GGUFTensorInfo(name: t.name, dims: t.dims, type: t.type, offset: abs, byteCount: bytes, elementCount: count))
        }
        let sorted = infos.sorted { $0.offset < $1.offset }
        for (a, b) in zip(sorted, sorted.dropFirst()) where a.offset + a.byteCount > b.offset {
            throw GGUFError("\(path): tensors '\(a.name)' and '\(b.name)' overlap")
        }
        tensors = infos
        tensorIndex = Dictionary(uniqueKeysWithValues: infos.enumerated().map { ($1.name, $0) })
    }

    public func tensor(_ name: String) -> GGUFTensorInfo? { tensorIndex[name].map { tensors[$0] } }

    /// The tensor's raw bytes (quantised blocks as stored).
    public func withBytes<R>(_ t: GGUFTensorInfo, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try data.withUnsafeBytes { all in try body(UnsafeRawBufferPointer(rebasing: all[t.offset..<(t.offset + t.byteCount)])) }
    }

    /// Every element of the tensor as Float, `dims[0]` contiguous (row r of a `[out, in]` weight is output r).
    public func dequantize(_ t: GGUFTensorInfo) -> [Float] {
        var out = [Float](repeating: 0, count: t.elementCount)
        let rowBytes = t.dims[0] / t.type.blockElements * t.type.blockBytes
        withBytes(t) { raw in
            out.withUnsafeMutableBufferPointer { o in
                for row in 0..<t.rows {
                    GGMLQuant.dequantizeRow(t.type, raw.baseAddress! + row * rowBytes,
                                            into: o.baseAddress! + row * t.dims[0], count: t.dims[0])
                }
            }
        }
        return out
    }

    /// Metadata as one line per key (arrays shortened), for `model info` and tests.
    public func describe(_ key: String) -> String? {
        guard let v = metadata[key] else { return nil }
        switch v {
        case let .array(a): return "array of \(a.count)"
        case let .string(s): return s
        case let .uint(u): return String(u)
        case let .int(i): return String(i)
        case let .float(d): return String(d)
        case let .bool(b): return String(b)
        }
    }

    /// A bounds-checked little-endian cursor over the file.
    struct Reader {
        let data: Data
        let path: String
        var position = 0

        mutating func take(_ n: Int, _ what: String) throws -> Int {
            guard n >= 0, n <= data.count - position else {
                throw GGUFError("\(path): the file ends inside \(what) (at byte \(position) of \(data.count))")
            }
            defer { position += n }
            return position
        }
        mutating func load<T: FixedWidthInteger>(_: T.Type, _ what: String) throws -> T {
            let p = try take(MemoryLayout<T>.size, what)
            return data.withUnsafeBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: p, as: T.self)) }
        }
        mutating func u32() throws -> UInt32 { try load(UInt32.self, "a 32-bit field") }
        mutating func u64() throws -> UInt64 { try load(UInt64.self, "a 64-bit field") }
        mutating func count(_ what: String) throws -> Int {
            let n = try u64()
            guard n <= UInt64(GGUFFile.maxCount) else { throw GGUFError("\(path): \(what) \(n) is not believable") }
            return Int(n)
        }
        mutating func string(_ what: String) throws -> String {
            let n = try u64()
            guard n <= UInt64(data.count - position) else { throw GGUFError("\(path): \(what) of \(n) bytes runs past the end of the file") }
            let p = try take(Int(n), what)
            guard let s = String(validating: data[(data.startIndex + p)..<(data.startIndex + p + Int(n))], as: UTF8.self) else {
                throw GGUFError("\(path): \(what) at byte \(p) is not UTF-8")
            }
            return s
        }
        mutating func value(type: UInt32, depth: Int, key: String) throws -> GGUFValue {
            switch type {
            case 0: return .uint(UInt64(try load(UInt8.self, key)))
            case 1: return .int(Int64(try load(Int8.self, key)))
            case 2: return .uint(UInt64(try load(UInt16.self, key)))
            case 3: return .int(Int64(try load(Int16.self, key)))
            case 4: return .uint(UInt64(try load(UInt32.self, key)))
            case 5: return .int(Int64(try load(Int32.self, key)))
            case 6: return .float(Double(Float(bitPattern: try load(UInt32.self, key))))
            case 7:
                let b = try load(UInt8.self, key)
                guard b <= 1 else { throw GGUFError("\(path): '\(key)' is a bool of value \(b)") }
                return .bool(b == 1)
            case 8: return .string(try string("the value of '\(key)'"))
            case 9:
                guard depth < GGUFFile.maxDepth else { throw GGUFError("\(path): '\(key)' nests arrays deeper than \(GGUFFile.maxDepth)") }
                let elem = try u32()
                let n = try count("the length of '\(key)'")
                // Every element takes at least one byte: a count beyond the bytes left is a damaged file.
                guard n <= data.count - position else { throw GGUFError("\(path): '\(key)' claims \(n) elements, more than the file holds") }
                var a: [GGUFValue] = []
                a.reserveCapacity(n)
                for _ in 0..<n { a.append(try value(type: elem, depth: depth + 1, key: key)) }
                return .array(a)
            case 10: return .uint(try load(UInt64.self, key))
            case 11: return .int(try load(Int64.self, key))
            case 12: return .float(Double(bitPattern: try load(UInt64.self, key)))
            default: throw GGUFError("\(path): '\(key)' has value type \(type), which GGUF does not define")
            }
        }
    }
}
