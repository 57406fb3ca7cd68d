import Foundation

/// A bad quantised matrix (wrong byte count, rows that are not whole blocks), as one line.
public struct QuantizedMatrixError: Error, CustomStringConvertible, Equatable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// A frozen weight matrix W: (rows = out, cols = in) kept in its ggml blocks (one contiguous run of `rows·rowBytes`
/// bytes, row r at `r·rowBytes`), so a quantised model takes its file size in memory rather than a Float copy.
///
/// `multiply` computes y = x·Wᵀ on the blocks directly. For Q4_0, Q5_0 and Q8_0 each activation row is rounded to
/// Q8_0 blocks, for Q4_1 and Q5_1 to Q8_1 (d and s = d·Σq), the way ggml-cpu's AVX2 kernels do
/// (`quantize_row_q8_0/q8_1`, `ggml_vec_dot_q4_1_q8_1`, …): the integer products of a block are summed exactly in
/// 8 lanes of 4 consecutive elements, scaled by d_w·d_x into 8 float accumulators with one FMA, and the lanes
/// summed in `hsum_float_8`'s order, so gtr rounds as llama.cpp does. K-quants and F16/BF16/F32 (and, above
/// `sgemmThreshold` rows of x, every type) go through tiles of W dequantised into a scratch buffer and sgemm.
/// Each output element is computed whole by one chunk, so results never depend on the thread count.
public final class QuantizedMatrix: @unchecked Sendable {
    public let type: GGMLType
    public let rows: Int
    public let cols: Int
    public let rowBytes: Int
    /// The first block of row 0.
    public let base: UnsafeRawPointer
    private let owned: UnsafeMutableRawPointer?
    /// Keeps borrowed bytes alive (a mapped GGUF file).
    private let owner: AnyObject?

    public var byteCount: Int { rows * rowBytes }
    public var shape: [Int] { [rows, cols] }

    /// Rows of x from which `multiply` dequantises tiles of W for sgemm instead of running the block kernels
    /// (measured with `gtr-bench quant`: the block kernels are faster up to a whole prompt, and they round as
    /// llama.cpp does, so by default they always run).
    nonisolated(unsafe) public static var sgemmThreshold = Int.max

    /// Runs `body` with fp32 activations for products of at least `minRows` rows on this thread: tiles of W are
    /// dequantised and multiplied by sgemm (training's long sequences: an order of magnitude faster than the block
    /// kernels there, and no 8-bit rounding of activations). Inference outside it keeps llama.cpp's arithmetic.
    public static func withFloatActivations<T>(minRows: Int = 64, _ body: () throws -> T) rethrows -> T {
        let key = "gtr.quant.floatRows"
        let saved = Thread.current.threadDictionary[key]
        Thread.current.threadDictionary[key] = minRows
        defer { Thread.current.threadDictionary[key] = saved }
        return try body()
    }

    static var floatActivationRows: Int { Thread.current.threadDictionary["gtr.quant.floatRows"] as? Int ?? Int.max }

    /// Bytes per row, checked: rows of whole blocks, `byteCount` exactly what rows × cols take.
    static func rowBytes(_ type: GGMLType, rows: Int, cols: Int, byteCount: Int) throws -> Int {
        guard rows > 0, cols > 0 else { throw QuantizedMatrixError("QuantizedMatrix: \(rows)×\(cols) \(type.name) matrix is empty") }
        guard cols % type.blockElements == 0 else {
            throw QuantizedMatrixError("QuantizedMatrix: rows of \(cols) are not whole \(type.name) blocks of \(type.blockElements)")
        }
        let rb = cols / type.blockElements * type.blockBytes
        let (total, overflow) = rb.multipliedReportingOverflow(by: rows)
        guard !overflow, total == byteCount else {
            throw QuantizedMatrixError("QuantizedMatrix: a \(rows)×\(cols) \(type.name) matrix takes \(overflow ? "too many" : String(total)) bytes, got \(byteCount)")
        }
        return rb
    }

    private init(type: GGMLType, rows: Int, cols: Int, rowBytes: Int, base: UnsafeRawPointer, owned: UnsafeMutableRawPointer?, owner: AnyObject?) {
        self.type = type; self.rows = rows; self.cols = cols; self.rowBytes = rowBytes
        self.base = base; self.owned = owned; self.owner = owner
    }

    /// A copy of `bytes` (rows × cols elements in `type`'s blocks, row-major).
    public convenience init(type: GGMLType, rows: Int, cols: Int, bytes: UnsafeRawBufferPointer) throws {
        let rb = try Self.rowBytes(type, rows: rows, cols: cols, byteCount: bytes.count)
        let p = UnsafeMutableRawPointer.allocate(byteCount: bytes.count, alignment: 64)
        p.copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        self.init(type: type, rows: rows, cols: cols, rowBytes: rb, base: UnsafeRawPointer(p), owned: p, owner: nil)
    }

    public convenience init(type: GGMLType, rows: Int, cols: Int, bytes: [UInt8]) throws {
        let rb = try Self.rowBytes(type, rows: rows, cols: cols, byteCount: bytes.count)
        let p = UnsafeMutableRawPointer.allocate(byteCount: bytes.count, alignment: 64)
        bytes.withUnsafeBytes { p.copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
        self.init(type: type, rows: rows, cols: cols, rowBytes: rb, base: UnsafeRawPointer(p), owned: p, owner: nil)
    }

    /// The bytes in place, without a copy: `owner` keeps them alive and unchanged (a mapped GGUF file).
    public convenience init(type: GGMLType, rows: Int, cols: Int, borrowing bytes: UnsafeRawBufferPointer, owner: AnyObject) throws {
        let rb = try Self.rowBytes(type, rows: rows, cols: cols, byteCount: bytes.count)
        self.init(type: type, rows: rows, cols: cols, rowBytes: rb, base: bytes.baseAddress!, owned: nil, owner: owner)
    }

    deinit { owned?.deallocate() }

    /// Row r as Float: y[0..<cols].
    @inline(__always)
    public func dequantizeRow(_ r: Int, into y: UnsafeMutablePointer<Float>) {
        GGMLQuant.dequantizeRow(type, base + r * rowBytes, into: y, count: cols)
    }

    /// The whole matrix as Float (rows, cols): for tests and for `Linear.weight` of a quantised layer.
    public func dequantized() -> Tensor<Float> {
        let t = Tensor<Float>(uninitialized: [rows, cols])
        for r in 0..<rows { dequantizeRow(r, into: t.pointer + r * cols) }
        return t
    }

    /// The index of the first block whose scale (or min, or for float types whose element) is not finite.
    public func firstNonFiniteBlock() -> Int? {
        let offsets: [Int]
        switch type {
        case .q4_0, .q5_0, .q8_0: offsets = [0]
        case .q4_1, .q5_1, .q4_K, .q5_K: offsets = [0, 2]
        case .q6_K: offsets = [208]
        case .f32, .f16, .bf16:
            let row = UnsafeMutablePointer<Float>.allocate(capacity: cols)
            defer { row.deallocate() }
            for r in 0..<rows {
                dequantizeRow(r, into: row)
                if let j = (0..<cols).first(where: { !row[$0].isFinite }) { return r * cols + j }
            }
            return nil
        }
        let blocks = rows * (cols / type.blockElements), bb = type.blockBytes
        for b in 0..<blocks { for o in offsets where !GGMLQuant.half(base, b * bb + o).isFinite { return b } }
        return nil
    }

    /// Embedding rows: out (ids.count, cols), row i = W[ids[i]].
    public func rows(_ ids: [Int], shape idsShape: [Int]) -> Tensor<Float> {
        let out = Tensor<Float>(uninitialized: idsShape + [cols])
        for (i, id) in ids.enumerated() {
            precondition(id >= 0 && id < rows, "token id \(id) outside table of \(rows)")
            dequantizeRow(id, into: out.pointer + i * cols)
        }
        return out
    }

    /// Whether this CPU has AVX-VNNI, which the block kernels then use (`vnni.h`).
    public static var vnniAvailable: Bool {
        #if GTR_AVX2
        QuantKernels.hasVNNI
        #else
        false
        #endif
    }
    /// Whether the block kernels use AVX-VNNI where available (default: yes unless GTR_NO_VNNI=1); set only
    /// between kernels (benchmarks compare the two; results are the same bits).
    public static var useVNNI: Bool {
        get {
            #if GTR_AVX2
            QuantKernels.useVNNI
            #else
            false
            #endif
        }
        set {
            #if GTR_AVX2
            QuantKernels.useVNNI = newValue && QuantKernels.hasVNNI
            #endif
        }
    }

    /// y: (n, rows) = x: (n, cols) · Wᵀ.
    public func multiply(_ x: UnsafePointer<Float>, n: Int, into y: UnsafeMutablePointer<Float>) {
        guard n > 0 else { return }
        if n < Swift.min(Self.sgemmThreshold, Self.floatActivationRows), QuantKernels.multiply(self, x, n: n, into: y) { return }
        multiplyDequantized(x, n: n, into: y)
    }

    /// y_m: (n, rows_m) = x: (n, cols) · W_mᵀ for matrices that share their input (a layer's q, k, v): the block
    /// kernels round x once and cover every matrix in one pool dispatch; the results are those of `multiply` one
    /// matrix at a time.
    public static func multiply(_ matrices: [QuantizedMatrix], _ x: UnsafePointer<Float>, n: Int, into ys: [UnsafeMutablePointer<Float>]) {
        precondition(matrices.count == ys.count, "one output per matrix")
        guard n > 0 else { return }
        if n < Swift.min(sgemmThreshold, floatActivationRows), QuantKernels.multiply(matrices, x, n: n, into: ys) { return }
        for (w, y) in zip(matrices, ys) { w.multiply(x, n: n, into: y) }
    }

    /// Rows of W per dequantised tile (a tile is rows × cols floats of scratch).
    static let tileRows = 64

    /// y = x·Wᵀ through tiles of W dequantised into scratch and sgemm (any type).
    public func multiplyDequantized(_ x: UnsafePointer<Float>, n: Int, into y: UnsafeMutablePointer<Float>) {
        let tiles = (rows + Self.tileRows - 1) / Self.tileRows
        Parallel.run(chunks: tiles, work: n * rows * cols) { [self] t in
            let r0 = t * Self.tileRows, r1 = Swift.min(rows, r0 + Self.tileRows)
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: (r1 - r0) * cols)
            defer { scratch.deallocate() }
            for r in r0..<r1 { dequantizeRow(r, into: scratch + (r - r0) * cols) }
            // y[:, r0..<r1]: (n, r1 − r0) = x: (n, cols) · tileᵀ: (cols, r1 − r0)
            Float.blasGemm(transA: false, transB: true, m: n, n: r1 - r0, k: cols, alpha: 1, a: x, lda: cols, b: scratch, ldb: cols,
                           beta: 0, c: y + r0, ldc: rows)
        }
    }

    /// Columns of x's gradient per backward chunk (whole blocks of every type).
    static let backwardColumns = 256

    /// dx: (n, cols) (+)= g: (n, rows) · W, from tiles of W dequantised into scratch and sgemm. Chunks own column
    /// ranges of dx and walk the rows in fixed tiles, so the sum's order never depends on the thread count.
    public func multiplyTransposed(_ g: UnsafePointer<Float>, n: Int, into dx: UnsafeMutablePointer<Float>, accumulate: Bool) {
        let width = Swift.max(Self.backwardColumns, type.blockElements)
        let chunks = (cols + width - 1) / width
        let tile = 256
        Parallel.run(chunks: chunks, work: n * rows * cols) { [self] c in
            let c0 = c * width, c1 = Swift.min(cols, c0 + width), cw = c1 - c0
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: tile * cw)
            defer { scratch.deallocate() }
            let skip = c0 / type.blockElements * type.blockBytes
            for r0 in stride(from: 0, to: rows, by: tile) {
                let r1 = Swift.min(rows, r0 + tile)
                for r in r0..<r1 { GGMLQuant.dequantizeRow(type, base + r * rowBytes + skip, into: scratch + (r - r0) * cw, count: cw) }
                // dx[:, c0..<c1] (+)= g[:, r0..<r1] · W[r0..<r1, c0..<c1]
                Float.blasGemm(transA: false, transB: false, m: n, n: cw, k: r1 - r0, alpha: 1, a: g + r0, lda: rows, b: scratch, ldb: cw,
                               beta: accumulate || r0 > 0 ? 1 : 0, c: dx + c0, ldc: cols)
            }
        }
    }
}

extension GGUFFile {
    /// A 2-D tensor (ggml dims [in, out]) as a `QuantizedMatrix` (out, in) over the file's own bytes: no copy, the
    /// matrix keeps the file alive.
    public func quantizedMatrix(_ t: GGUFTensorInfo) throws -> QuantizedMatrix {
        guard t.dims.count == 2 else { throw GGUFError("\(path): tensor '\(t.name)' has dims \(t.dims), not a matrix") }
        return try withBytes(t) { raw in
            try QuantizedMatrix(type: t.type, rows: t.dims[1], cols: t.dims[0], borrowing: raw, owner: self)
        }
    }
}
