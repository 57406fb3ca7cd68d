import Foundation

/// The safetensors format: an 8-byte little-endian header length N, N bytes of JSON
/// `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {string: string}}`, then the raw data.
///
/// Reading memory-maps the file and validates everything before allocating: the header length against the file
/// size (and a 100 MB cap), each dtype, shape (overflow-checked), and that each byte range lies inside the data
/// and holds exactly shape × element size bytes. A damaged file is an error, never a crash or a huge allocation.
public struct SafeTensors {
    public enum DType: String, Sendable, CaseIterable {
        case f32 = "F32", f16 = "F16", bf16 = "BF16", f64 = "F64"
        public var size: Int { switch self { case .f32: 4; case .f16, .bf16: 2; case .f64: 8 } }
    }

    public struct Entry: Sendable, Equatable {
        public var dtype: DType
        public var shape: [Int]
        public var range: Range<Int>  // within the data section
    }

    public static let maxHeaderBytes = 100 << 20

    public let path: String
    public let entries: [String: Entry]
    public let metadata: [String: String]
    let data: Data
    let dataStart: Int

    /// Opens and validates `path` (memory-mapped).
    public init(path: String) throws {
        let d: Data
        do { d = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) } catch {
            throw TensorError.io("cannot read \(path): \((error as NSError).localizedDescription)")
        }
        try self.init(data: d, path: path)
    }

    public init(data d: Data, path: String = "<memory>") throws {
        self.path = path
        func bad(_ m: String) -> TensorError { .invalidFile("\(path): \(m)") }
        guard d.count >= 8 else { throw bad("\(d.count) bytes is too short for a safetensors header") }
        let n64 = d.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self).littleEndian }
        guard n64 <= UInt64(SafeTensors.maxHeaderBytes) else { throw bad("header length \(n64) exceeds the 100 MB limit") }
        let n = Int(n64)
        guard n >= 2, 8 + n <= d.count else { throw bad("header length \(n) does not fit a \(d.count)-byte file") }
        let headerData = d.subdata(in: 8..<(8 + n))
        guard let obj = try? JSONSerialization.jsonObject(with: headerData), let header = obj as? [String: Any] else {
            throw bad("header is not a JSON object")
        }
        let dataSize = d.count - 8 - n
        var entries: [String: Entry] = [:]
        var meta: [String: String] = [:]
        func int(_ v: Any?) -> Int? {
            guard let num = v as? NSNumber else { return nil }
            let x = num.doubleValue
            guard x >= 0, x <= 9.0e15, x == x.rounded() else { return nil }
            return Int(x)
        }
        for (name, value) in header {
            if name == "__metadata__" {
                guard let m = value as? [String: Any] else { throw bad("__metadata__ is not an object") }
                for (k, v) in m {
                    guard let s = v as? String else { throw bad("metadata value for \"\(k)\" is not a string") }
                    meta[k] = s
                }
                continue
            }
            guard let e = value as? [String: Any] else { throw bad("entry \"\(name)\" is not an object") }
            guard let ds = e["dtype"] as? String else { throw bad("\"\(name)\" has no dtype") }
            guard let dt = DType(rawValue: ds) else { throw bad("\"\(name)\" has unsupported dtype \(ds) (F32, F16, BF16, F64 are read)") }
            guard let sh = e["shape"] as? [Any], sh.count <= 16 else { throw bad("\"\(name)\" has no valid shape") }
            var shape: [Int] = []
            var elements = 1
            for s in sh {
                guard let k = int(s) else { throw bad("\"\(name)\" has a non-integer dimension") }
                let (p, o) = elements.multipliedReportingOverflow(by: k)
                guard !o, p <= dataSize else { throw bad("\"\(name)\" shape \(sh) is larger than the file") }
                elements = p; shape.append(k)
            }
            guard let offs = e["data_offsets"] as? [Any], offs.count == 2, let b = int(offs[0]), let en = int(offs[1]) else {
                throw bad("\"\(name)\" has no valid data_offsets")
            }
            guard b <= en, en <= dataSize else { throw bad("\"\(name)\" data_offsets [\(b), \(en)] outside the \(dataSize)-byte data") }
            guard en - b == elements * dt.size else {
                throw bad("\"\(name)\" holds \(en - b) bytes, shape \(shape) of \(ds) needs \(elements * dt.size)")
            }
            entries[name] = Entry(dtype: dt, shape: shape, range: b..<en)
        }
        self.entries = entries
        self.metadata = meta
        self.data = d
        self.dataStart = 8 + n
    }

    public var names: [String] { entries.keys.sorted() }

    /// The named tensor converted to Float32.
    public func tensor(_ name: String) throws -> Tensor<Float> {
        guard let e = entries[name] else { throw TensorError.invalidFile("\(path): no tensor \"\(name)\"") }
        let out = Tensor<Float>(uninitialized: e.shape)
        let n = out.count
        data.withUnsafeBytes { raw in
            let base = raw.baseAddress! + dataStart + e.range.lowerBound
            let dst = out.pointer
            switch e.dtype {
            case .f32: for i in 0..<n { dst[i] = Float(bitPattern: UInt32(littleEndian: base.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
            case .f64: for i in 0..<n { dst[i] = Float(Double(bitPattern: UInt64(littleEndian: base.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)))) }
            case .f16: for i in 0..<n { dst[i] = HalfFloat.toFloat(UInt16(littleEndian: base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
            case .bf16: for i in 0..<n { dst[i] = Float(bitPattern: UInt32(UInt16(littleEndian: base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) << 16) }
            }
        }
        return out
    }

    /// Every tensor, converted to Float32.
    public func all() throws -> [String: Tensor<Float>] {
        var out: [String: Tensor<Float>] = [:]
        for n in names { out[n] = try tensor(n) }
        return out
    }

    /// Writes tensors (sorted by name, stored as `dtype`) and string metadata; the header is space-padded to a
    /// multiple of 8 bytes so the data section is aligned. Written to a temporary file and renamed into place.
    public static func write(_ tensors: [String: Tensor<Float>], metadata: [String: String] = [:], dtype: DType = .f32, to path: String) throws {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var offset = 0
        let names = tensors.keys.sorted()
        for n in names {
            let t = tensors[n]!
            let bytes = t.count * dtype.size
            header[n] = ["dtype": dtype.rawValue, "shape": t.shape, "data_offsets": [offset, offset + bytes]] as [String: Any]
            offset += bytes
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(0x20) }
        var out = Data(capacity: 8 + json.count + offset)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(json)
        for n in names {
            let v = tensors[n]!.scalars
            var buf = [UInt8](repeating: 0, count: v.count * dtype.size)
            buf.withUnsafeMutableBytes { raw in
                for (i, x) in v.enumerated() {
                    switch dtype {
                    case .f32: raw.storeBytes(of: x.bitPattern.littleEndian, toByteOffset: 4 * i, as: UInt32.self)
                    case .f64: raw.storeBytes(of: Double(x).bitPattern.littleEndian, toByteOffset: 8 * i, as: UInt64.self)
                    case .f16: raw.storeBytes(of: HalfFloat.fromFloat(x).littleEndian, toByteOffset: 2 * i, as: UInt16.self)
                    case .bf16: raw.storeBytes(of: HalfFloat.bf16(x).littleEndian, toByteOffset: 2 * i, as: UInt16.self)
                    }
                }
            }
            out.append(contentsOf: buf)
        }
        let tmp = path + ".tmp-\(getpid())"
        do {
            try out.write(to: URL(fileURLWithPath: tmp))
            if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
            try FileManager.default.moveItem(atPath: tmp, toPath: path)
        } catch {
            try? FileManager.default.removeItem(atPath: tmp)
            throw TensorError.io("cannot write \(path): \((error as NSError).localizedDescription)")
        }
    }
}

/// IEEE half and bfloat16 conversions (round to nearest even), independent of platform `Float16` support.
public enum HalfFloat {
    public static func toFloat(_ h: UInt16) -> Float {
        let sign = UInt32(h & 0x8000) << 16
        let exp = Int((h >> 10) & 0x1F), man = UInt32(h & 0x3FF)
        if exp == 0 {
            if man == 0 { return Float(bitPattern: sign) }
            let v = Float(man) * 0x1p-24  // subnormal
            return sign != 0 ? -v : v
        }
        if exp == 31 { return Float(bitPattern: sign | 0x7F80_0000 | (man << 13)) }
        return Float(bitPattern: sign | UInt32(exp - 15 + 127) << 23 | (man << 13))
    }

    public static func fromFloat(_ f: Float) -> UInt16 {
        let b = f.bitPattern
        let sign = UInt16((b >> 16) & 0x8000)
        if f.isNaN { return sign | 0x7E00 }
        let a = abs(f)
        if a >= 65520 { return sign | 0x7C00 }  // overflow → inf
        if a < 0x1p-14 {
            // subnormal half: round(a / 2^-24)
            let q = (a * 0x1p24).rounded(.toNearestOrEven)
            return sign | UInt16(q)
        }
        let e = Int((b >> 23) & 0xFF) - 127 + 15
        var man = b & 0x7F_FFFF
        var exp = UInt32(e)
        // round mantissa from 23 to 10 bits, nearest even
        let rest = man & 0x1FFF
        man >>= 13
        if rest > 0x1000 || (rest == 0x1000 && man & 1 == 1) { man += 1; if man == 0x400 { man = 0; exp += 1 } }
        return sign | UInt16(exp << 10) | UInt16(man)
    }

    public static func bf16(_ f: Float) -> UInt16 {
        if f.isNaN { return 0x7FC0 }
        let b = f.bitPattern
        let rounded = b &+ 0x7FFF &+ ((b >> 16) & 1)
        return UInt16(rounded >> 16)
    }
}

/// A checkpoint: a module's weights under `model.` and an optimizer's state under `optim.` in one safetensors
/// file, with the optimizer's scalars (step, hyper-parameters) in the metadata as `optim.<key>`.
public enum Checkpoint {
    public static func save(_ model: Module, optimizer: Optimizer? = nil, metadata: [String: String] = [:], to path: String) throws {
        var t: [String: Tensor<Float>] = [:]
        for (k, p) in model.namedParameters() { t["model." + k] = p }
        var meta = metadata
        if let optimizer {
            let s = optimizer.state()
            for (k, v) in s.tensors { t["optim." + k] = v }
            for (k, v) in s.metadata { meta["optim." + k] = v }
        }
        try SafeTensors.write(t, metadata: meta, to: path)
    }

    /// Restores weights (and optimizer state when given); returns the file's metadata.
    @discardableResult
    public static func load(_ model: Module, optimizer: Optimizer? = nil, from path: String) throws -> [String: String] {
        let f = try SafeTensors(path: path)
        var weights: [String: Tensor<Float>] = [:], optim: [String: Tensor<Float>] = [:]
        for n in f.names {
            if n.hasPrefix("model.") { weights[String(n.dropFirst(6))] = try f.tensor(n) }
            else if n.hasPrefix("optim.") { optim[String(n.dropFirst(6))] = try f.tensor(n) }
            else { throw TensorError.invalidFile("tensor \"\(n)\" is neither model. nor optim. (not a gtr checkpoint)") }
        }
        try model.load(weights)
        if let optimizer {
            var m: [String: String] = [:]
            for (k, v) in f.metadata where k.hasPrefix("optim.") { m[String(k.dropFirst(6))] = v }
            try optimizer.loadState(tensors: optim, metadata: m)
        }
        return f.metadata
    }
}
