import Foundation

public enum TokenizerError: Error, CustomStringConvertible {
    case badFile(String)
    public var description: String {
        switch self { case let .badFile(m): return "tokenizer: \(m)" }
    }
}

/// A byte-level BPE trained on the task corpus (prompts and expert outputs).
///
/// Ids: 0 PAD, 1 BOS, 2 EOS, 3 SEP (starts the assistant's answer), 4…259 the 256 bytes, then one id per merge.
/// Any byte string round-trips, so every model output decodes and re-encodes exactly.
///
/// Pre-tokenisation keeps the things an agent must reason about compositional: every digit and every formula
/// symbol `+ - * / ( ) =` is a chunk of its own, so "10" is always `1`,`0` and a formula is one token per symbol.
/// Everything else (the constant prompt text, JSON keys, thought phrasing) may merge across spaces into long
/// tokens: the GTR prompt, about 900 characters, becomes a few dozen tokens, which is what makes a CPU-trainable
/// agent possible. Merges never exceed `maxTokenBytes`.
public struct BPETokenizer: Codable, Sendable, Equatable {
    public static let pad: Int32 = 0, bos: Int32 = 1, eos: Int32 = 2, sep: Int32 = 3
    static let byteBase = 4
    public static let maxTokenBytes = 24

    /// Merge i joins (a, b) into id 260 + i.
    public private(set) var merges: [[Int32]]
    /// The byte string of every id (specials are empty).
    private var pieces: [[UInt8]] = []
    private var ranks: [Int64: Int32] = [:]
    /// Ids of chunks already encoded (a prompt is the same text at every step); made fresh with the merges.
    private var memo = ChunkMemo()

    enum CodingKeys: String, CodingKey { case merges }

    public var vocabSize: Int { BPETokenizer.byteBase + 256 + merges.count }

    public init(merges: [[Int32]]) throws {
        self.merges = merges
        try rebuild()
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        merges = try c.decode([[Int32]].self, forKey: .merges)
        try rebuild()
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(merges, forKey: .merges)
    }

    public static func == (a: BPETokenizer, b: BPETokenizer) -> Bool { a.merges == b.merges }

    private mutating func rebuild() throws {
        pieces = Array(repeating: [], count: BPETokenizer.byteBase) + (0..<256).map { [UInt8($0)] }
        ranks = [:]
        memo = ChunkMemo()
        for (i, m) in merges.enumerated() {
            let id = Int32(pieces.count)
            guard m.count == 2, m.allSatisfy({ $0 >= Int32(BPETokenizer.byteBase) && $0 < id }) else {
                throw TokenizerError.badFile("merge \(i) is \(m): expected two earlier non-special ids")
            }
            pieces.append(pieces[Int(m[0])] + pieces[Int(m[1])])
            ranks[BPETokenizer.key(m[0], m[1])] = Int32(i)
        }
    }

    static func key(_ a: Int32, _ b: Int32) -> Int64 { Int64(a) << 32 | Int64(b) }

    static func isSolo(_ b: UInt8) -> Bool {
        (b >= 48 && b <= 57) || b == 43 || b == 45 || b == 42 || b == 47 || b == 40 || b == 41 || b == 61
    }

    /// Splits bytes into chunks: each digit or formula symbol alone, the runs between them whole.
    static func chunks(_ bytes: [UInt8]) -> [ArraySlice<UInt8>] {
        var out: [ArraySlice<UInt8>] = []
        var start = 0
        for (i, b) in bytes.enumerated() where isSolo(b) {
            if start < i { out.append(bytes[start..<i]) }
            out.append(bytes[i..<(i + 1)])
            start = i + 1
        }
        if start < bytes.count { out.append(bytes[start...]) }
        return out
    }

    /// Learns `mergeCount` merges from a corpus (deterministic: ties go to the smallest pair of ids).
    public static func train(corpus: [String], mergeCount: Int) -> BPETokenizer {
        var counts: [[UInt8]: Int] = [:]
        for text in corpus { for c in chunks(Array(text.utf8)) { counts[Array(c), default: 0] += 1 } }
        var words: [(ids: [Int32], count: Int)] = counts.map { ($0.key.map { Int32($0) + Int32(byteBase) }, $0.value) }
        words.sort { $0.ids.lexicographicallyPrecedes($1.ids) }
        var lengths = Array(repeating: 1, count: byteBase + 256)
        var merges: [[Int32]] = []
        for _ in 0..<mergeCount {
            var pairCounts: [Int64: Int] = [:]
            for w in words where w.ids.count > 1 {
                for i in 0..<(w.ids.count - 1) where lengths[Int(w.ids[i])] + lengths[Int(w.ids[i + 1])] <= maxTokenBytes {
                    pairCounts[key(w.ids[i], w.ids[i + 1]), default: 0] += w.count
                }
            }
            guard let best = pairCounts.max(by: { $0.value < $1.value || ($0.value == $1.value && $0.key > $1.key) }),
                  best.value >= 2 else { break }
            let a = Int32(best.key >> 32), b = Int32(best.key & 0xFFFF_FFFF)
            let newID = Int32(lengths.count)
            lengths.append(lengths[Int(a)] + lengths[Int(b)])
            merges.append([a, b])
            for wi in words.indices where words[wi].ids.count > 1 {
                var ids = words[wi].ids
                var i = 0
                var changed = false
                var out: [Int32] = []
                out.reserveCapacity(ids.count)
                while i < ids.count {
                    if i + 1 < ids.count, ids[i] == a, ids[i + 1] == b { out.append(newID); i += 2; changed = true } else { out.append(ids[i]); i += 1 }
                }
                if changed { ids = out; words[wi].ids = ids }
            }
        }
        return try! BPETokenizer(merges: merges)
    }

    /// Token ids of `text` (no BOS/EOS).
    public func encode(_ text: String) -> [Int32] {
        var out: [Int32] = []
        for c in BPETokenizer.chunks(Array(text.utf8)) { out += encodeChunk(c) }
        return out
    }

    private func encodeChunk(_ c: ArraySlice<UInt8>) -> [Int32] {
        if let ids = memo[c] { return ids }
        let ids = mergeChunk(c)
        memo[c] = ids
        return ids
    }

    /// BPE on one chunk: repeatedly joins the adjacent pair of lowest merge rank.
    private func mergeChunk(_ c: ArraySlice<UInt8>) -> [Int32] {
        var ids = c.map { Int32($0) + Int32(BPETokenizer.byteBase) }
        while ids.count > 1 {
            var bestRank = Int32.max, bestAt = -1
            for i in 0..<(ids.count - 1) {
                if let r = ranks[BPETokenizer.key(ids[i], ids[i + 1])], r < bestRank { bestRank = r; bestAt = i }
            }
            if bestAt < 0 { break }
            let newID = Int32(BPETokenizer.byteBase + 256) + bestRank
            let (a, b) = (ids[bestAt], ids[bestAt + 1])
            var out: [Int32] = []
            var i = 0
            while i < ids.count {
                if i + 1 < ids.count, ids[i] == a, ids[i + 1] == b { out.append(newID); i += 2 } else { out.append(ids[i]); i += 1 }
            }
            ids = out
        }
        return ids
    }

    /// The bytes of one id (empty for specials and unknown ids).
    public func bytes(_ id: Int32) -> [UInt8] { id >= 0 && Int(id) < pieces.count ? pieces[Int(id)] : [] }

    /// Text of ids; specials are skipped, invalid UTF-8 is repaired (U+FFFD).
    public func decode(_ ids: [Int32]) -> String {
        String(decoding: ids.flatMap { bytes($0) }, as: UTF8.self)
    }

    /// Readable form of one id for per-token displays.
    public func display(_ id: Int32) -> String {
        switch id {
        case BPETokenizer.pad: return "<pad>"
        case BPETokenizer.bos: return "<bos>"
        case BPETokenizer.eos: return "<eos>"
        case BPETokenizer.sep: return "<sep>"
        default: return String(decoding: bytes(id), as: UTF8.self)
        }
    }

    /// The UTF-8 byte offset at which each token starts in `decode(ids)`, plus the total length at the end.
    public func byteOffsets(_ ids: [Int32]) -> [Int] {
        var offs: [Int] = [0]
        offs.reserveCapacity(ids.count + 1)
        var n = 0
        for id in ids { n += bytes(id).count; offs.append(n) }
        return offs
    }
}

/// Chunk bytes → ids, shared by copies of one tokenizer (they have the same merges) and safe across threads.
/// Bounded: emptied when it reaches `capacity` chunks, so free text cannot grow it without limit.
final class ChunkMemo: @unchecked Sendable {
    static let capacity = 1 << 14
    /// Keys are copies, so that an entry does not keep the whole text its chunk was cut from alive.
    private var ids: [[UInt8]: [Int32]] = [:]
    private let lock = NSLock()

    subscript(chunk: ArraySlice<UInt8>) -> [Int32]? {
        get { let key = Array(chunk); lock.lock(); defer { lock.unlock() }; return ids[key] }
        set {
            let key = Array(chunk)
            lock.lock(); defer { lock.unlock() }
            if ids.count >= ChunkMemo.capacity { ids.removeAll(keepingCapacity: true) }
            ids[key] = newValue
        }
    }
}
