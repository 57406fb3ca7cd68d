/// PNG's five row filters (the spec's filter method 0). Each byte of a row is stored as its difference from a
/// prediction made from its left neighbour `a` (the byte one pixel back), the byte above `b` and the byte above-left
/// `c`; on a drawn frame (flat colours, repeated rows) most differences are zero and deflate shrinks them well.
enum PNGFilter: UInt8, CaseIterable, Sendable {
    case none = 0, sub, up, average, paeth

    /// The Paeth predictor: whichever of a, b, c is closest to a + b − c (ties go to a, then b).
    @inline(__always) static func paeth(_ a: UInt8, _ b: UInt8, _ c: UInt8) -> UInt8 {
        let p = Int(a) + Int(b) - Int(c)
        let pa = abs(p - Int(a)), pb = abs(p - Int(b)), pc = abs(p - Int(c))
        if pa <= pb && pa <= pc { return a }
        return pb <= pc ? b : c
    }

    /// Writes this filter's output for one row (`above` is all zeros for the first row) and returns the row's
    /// sum of absolute values, the bytes read as signed. One loop per filter: this runs for every frame sent.
    @inline(__always) func filterRow(_ cur: UnsafePointer<UInt8>, above: UnsafePointer<UInt8>, count n: Int, bpp: Int,
                                     into out: UnsafeMutablePointer<UInt8>) -> Int {
        var cost = 0
        @inline(__always) func put(_ i: Int, _ v: UInt8) { out[i] = v; cost &+= Int(Int8(bitPattern: v).magnitude) }
        let head = min(bpp, n)
        switch self {
        case .none:
            for i in 0..<n { put(i, cur[i]) }
        case .sub:
            for i in 0..<head { put(i, cur[i]) }
            for i in head..<n { put(i, cur[i] &- cur[i - bpp]) }
        case .up:
            for i in 0..<n { put(i, cur[i] &- above[i]) }
        case .average:
            for i in 0..<head { put(i, cur[i] &- above[i] >> 1) }
            for i in head..<n { put(i, cur[i] &- UInt8((UInt16(cur[i - bpp]) &+ UInt16(above[i])) >> 1)) }
        case .paeth:
            // With no left neighbour (a = c = 0) Paeth predicts b.
            for i in 0..<head { put(i, cur[i] &- above[i]) }
            for i in head..<n { put(i, cur[i] &- PNGFilter.paeth(cur[i - bpp], above[i], above[i - bpp])) }
        }
        return cost
    }

    /// Filters `height` rows of `rowBytes` bytes (`bpp` bytes per pixel): each output row is its filter-type byte
    /// followed by the filtered bytes. With `only` nil every row gets the filter whose output has the smallest
    /// sum of absolute values (bytes read as signed), the heuristic the PNG spec recommends for true-colour images.
    static func apply(_ data: [UInt8], rowBytes: Int, height: Int, bpp: Int, only: PNGFilter? = nil) -> [UInt8] {
        precondition(data.count == rowBytes * height)
        let candidates = only.map { [$0] } ?? PNGFilter.allCases
        var out = [UInt8](repeating: 0, count: height * (rowBytes + 1))
        var scratch = [UInt8](repeating: 0, count: rowBytes * candidates.count)
        let zeros = [UInt8](repeating: 0, count: rowBytes)
        guard rowBytes > 0 else { return out }
        data.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                scratch.withUnsafeMutableBufferPointer { tmp in
                    zeros.withUnsafeBufferPointer { zero in
                        for y in 0..<height {
                            let cur = src.baseAddress! + y * rowBytes
                            let above = y > 0 ? cur - rowBytes : zero.baseAddress!
                            var best = 0, bestCost = Int.max
                            for (k, f) in candidates.enumerated() {
                                let cost = f.filterRow(cur, above: above, count: rowBytes, bpp: bpp, into: tmp.baseAddress! + k * rowBytes)
                                if cost < bestCost { best = k; bestCost = cost }
                                if cost == 0 { break }  // nothing beats an all-zero row (a row repeating the one above)
                            }
                            let o = dst.baseAddress! + y * (rowBytes + 1)
                            o.pointee = candidates[best].rawValue
                            (o + 1).update(from: tmp.baseAddress! + best * rowBytes, count: rowBytes)
                        }
                    }
                }
            }
        }
        return out
    }
}
