import Foundation
import Tensors

/// The byte-level BPE tokenizer a GGUF file carries (`tokenizer.ggml.model = "gpt2"`), as llama.cpp applies it:
/// special tokens (control and user-defined) are cut out of the text first; each remaining run is pre-tokenized by
/// the model's rules (`tokenizer.ggml.pre`), each piece's UTF-8 bytes are mapped to GPT-2's printable byte
/// characters, and merges are applied lowest rank first (leftmost on ties). Ids then come from the vocabulary.
public final class GGUFTokenizer: @unchecked Sendable {
    public let tokens: [String]
    public let tokenTypes: [Int]
    public let bos: Int?, eos: Int?
    public let addBOS: Bool
    public let pre: String
    public let chatTemplate: String?
    let ids: [String: Int]
    /// Rank of a merge, keyed by "left right".
    let ranks: [String: Int]
    /// Special tokens (control, user-defined), longest first, as they are matched in text.
    let specials: [(text: [UInt8], id: Int)]

    /// Pre-tokenizers gtr implements: llama.cpp's `smollm`/`starcoder` family (each digit alone, then GPT-2's
    /// pattern) and plain `gpt2`.
    public static let pretokenizers = ["smollm", "starcoder", "refact", "codeshell", "gpt2", "default"]

    public init(gguf f: GGUFFile) throws {
        func need(_ k: String) throws -> GGUFValue {
            guard let v = f.metadata[k] else { throw GGUFError("\(f.path): no \(k) (the file carries no tokenizer gtr can use)") }
            return v
        }
        guard let model = try need("tokenizer.ggml.model").string, model == "gpt2" else {
            throw GGUFError("\(f.path): tokenizer.ggml.model is '\(f.metadata["tokenizer.ggml.model"]?.string ?? "?")'; gtr reads byte-level BPE (gpt2) tokenizers")
        }
        pre = f.metadata["tokenizer.ggml.pre"]?.string ?? "default"
        guard Self.pretokenizers.contains(pre) else {
            throw GGUFError("\(f.path): pre-tokenizer '\(pre)' is not implemented (gtr has \(Self.pretokenizers.joined(separator: ", ")))")
        }
        guard let toks = try need("tokenizer.ggml.tokens").array?.compactMap(\.string), !toks.isEmpty else {
            throw GGUFError("\(f.path): tokenizer.ggml.tokens is not a list of strings")
        }
        tokens = toks
        let types = f.metadata["tokenizer.ggml.token_type"]?.array?.compactMap(\.int) ?? []
        tokenTypes = types.count == toks.count ? types : Array(repeating: 1, count: toks.count)
        var ids: [String: Int] = [:]
        for (i, t) in toks.enumerated() where ids[t] == nil { ids[t] = i }
        self.ids = ids
        var ranks: [String: Int] = [:]
        for (i, m) in (try need("tokenizer.ggml.merges").array ?? []).enumerated() {
            guard let s = m.string, s.contains(" ") else { throw GGUFError("\(f.path): merge \(i) is not two symbols separated by a space") }
            if ranks[s] == nil { ranks[s] = i }
        }
        self.ranks = ranks
        func id(_ k: String) -> Int? { f.metadata[k]?.int.flatMap { $0 >= 0 && $0 < toks.count ? $0 : nil } }
        bos = id("tokenizer.ggml.bos_token_id")
        eos = id("tokenizer.ggml.eos_token_id")
        addBOS = f.metadata["tokenizer.ggml.add_bos_token"]?.bool ?? false
        chatTemplate = f.metadata["tokenizer.chat_template"]?.string
        let kinds = tokenTypes
        specials = toks.enumerated().filter { kinds[$0.offset] == 3 || kinds[$0.offset] == 4 }
            .map { (Array($0.element.utf8), $0.offset) }.filter { !$0.0.isEmpty }.sorted { $0.0.count > $1.0.count }
    }

    // MARK: byte-level mapping (GPT-2's bytes_to_unicode: printable bytes stand for themselves, the others are
    // shifted to U+0100…)

    static let byteToScalar: [Unicode.Scalar] = {
        var printable = Array(33...126) + Array(161...172) + Array(174...255)
        var out = [Unicode.Scalar](repeating: " ", count: 256)
        for b in printable { out[b] = Unicode.Scalar(UInt32(b))! }
        var n = 0
        for b in 0..<256 where !printable.contains(b) {
            out[b] = Unicode.Scalar(UInt32(256 + n))!
            n += 1
            printable.append(b)
        }
        return out
    }()

    static let scalarToByte: [UInt32: UInt8] = {
        var d: [UInt32: UInt8] = [:]
        for (b, s) in byteToScalar.enumerated() { d[s.value] = UInt8(b) }
        return d
    }()

    // MARK: encoding

    /// Token ids of `text`; special tokens written in the text are recognised when `special` is on (as for a chat
    /// prompt built from the template). A BOS is prepended when the file asks for it and `addSpecial` is on.
    public func encode(_ text: String, special: Bool = true, addSpecial: Bool = true) -> [Int] {
        var out: [Int] = []
        if addSpecial && addBOS, let bos { out.append(bos) }
        let bytes = Array(text.utf8)
        var start = 0, i = 0
        func flush(_ end: Int) {
            if end > start { encodePlain(String(decoding: bytes[start..<end], as: UTF8.self), into: &out) }
        }
        if special && !specials.isEmpty {
            while i < bytes.count {
                if bytes[i] == UInt8(ascii: "<") || specials.contains(where: { $0.text.first == bytes[i] }),
                   let s = specials.first(where: { $0.text.count <= bytes.count - i && bytes[i..<(i + $0.text.count)].elementsEqual($0.text) }) {
                    flush(i)
                    out.append(s.id)
                    i += s.text.count
                    start = i
                } else {
                    i += 1
                }
            }
        }
        flush(bytes.count)
        return out
    }

    func encodePlain(_ text: String, into out: inout [Int]) {
        for piece in pretokenize(text) {
            let symbols = bpe(piece)
            for s in symbols {
                if let id = ids[s] { out.append(id); continue }
                // A symbol the vocabulary lacks: its bytes one by one (llama.cpp does the same).
                for u in s.unicodeScalars { if let id = ids[String(Character(u))] { out.append(id) } }
            }
        }
    }

    /// BPE over one pre-tokenized piece: its bytes as GPT-2 characters, merged lowest rank first.
    func bpe(_ piece: String) -> [String] {
        var sym = Array(piece.utf8).map { String(Character(Self.byteToScalar[Int($0)])) }
        guard sym.count > 1 else { return sym }
        while true {
            var best: (rank: Int, at: Int)?
            for k in 0..<(sym.count - 1) {
                if let r = ranks[sym[k] + " " + sym[k + 1]], best == nil || r < best!.rank { best = (r, k) }
            }
            guard let b = best else { break }
            sym[b.at] += sym[b.at + 1]
            sym.remove(at: b.at + 1)
            if sym.count == 1 { break }
        }
        return sym
    }

    // MARK: pre-tokenization (llama.cpp's `unicode_regex_split` with its GPT-2 fast path)

    struct Flags {
        var letter = false, number = false, whitespace = false, defined = false
        init(_ s: Unicode.Scalar?) {
            guard let s else { return }
            let c = s.properties.generalCategory
            switch c {
            case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: letter = true
            case .decimalNumber, .letterNumber, .otherNumber: number = true
            default: break
            }
            whitespace = s.properties.isWhitespace
            defined = c != .unassigned
        }
    }

    /// The pieces of `text` under the model's pre-tokenizer.
    public func pretokenize(_ text: String) -> [String] {
        let scalars = Array(text.unicodeScalars)
        var segments: [Range<Int>] = [0..<scalars.count]
        if pre != "gpt2" && pre != "default" {
            // First `\p{N}`: every number character is a piece of its own; the text between stays together.
            segments = []
            var s = 0
            for (i, c) in scalars.enumerated() where Flags(c).number {
                if i > s { segments.append(s..<i) }
                segments.append(i..<(i + 1))
                s = i + 1
            }
            if s < scalars.count { segments.append(s..<scalars.count) }
        }
        var out: [String] = []
        for seg in segments {
            for r in gpt2Split(scalars, seg) {
                var s = String.UnicodeScalarView()
                s.append(contentsOf: scalars[r])
                out.append(String(s))
            }
        }
        return out
    }

    /// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+` over `seg`, as llama.cpp
    /// matches it (characters outside the segment count as absent).
    func gpt2Split(_ c: [Unicode.Scalar], _ seg: Range<Int>) -> [Range<Int>] {
        var out: [Range<Int>] = []
        let end = seg.upperBound
        func at(_ i: Int) -> Unicode.Scalar? { i < end ? c[i] : nil }
        func flags(_ i: Int) -> Flags { Flags(at(i)) }
        var pos = seg.lowerBound, start = seg.lowerBound
        func add(_ p: Int) { if p > start { out.append(start..<p) }; start = p }
        while pos < end {
            let cpt = c[pos]
            let f = flags(pos)
            if cpt == "'", let n = at(pos + 1) {
                if n == "s" || n == "t" || n == "m" || n == "d" { pos += 2; add(pos); continue }
                if let nn = at(pos + 2), (n == "r" && nn == "e") || (n == "v" && nn == "e") || (n == "l" && nn == "l") {
                    pos += 3; add(pos); continue
                }
            }
            let f2 = cpt == " " ? flags(pos + 1) : f
            if f2.letter {
                if cpt == " " { pos += 1 }
                while flags(pos).letter { pos += 1 }
                add(pos); continue
            }
            if f2.number {
                if cpt == " " { pos += 1 }
                while flags(pos).number { pos += 1 }
                add(pos); continue
            }
            if !(f2.whitespace || f2.letter || f2.number) && f2.defined {
                if cpt == " " { pos += 1 }
                while true {
                    let g = flags(pos)
                    guard !(g.whitespace || g.letter || g.number) && g.defined else { break }
                    pos += 1
                }
                add(pos); continue
            }
            var n = 0
            while flags(pos + n).whitespace { n += 1 }
            if n > 1 && pos + n < end { pos += n - 1; add(pos); continue }
            if n > 0 { pos += n; add(pos); continue }
            pos += 1
            add(pos)
        }
        return out
    }

    // MARK: decoding

    /// The text of `ids` (special tokens written as themselves; invalid UTF-8 is repaired).
    public func decode(_ ids: [Int]) -> String {
        String(decoding: ids.flatMap { bytes($0) }, as: UTF8.self)
    }

    /// The raw bytes token `id` stands for (a piece of a UTF-8 character stays a piece), for byte offsets.
    public func bytes(_ id: Int) -> [UInt8] {
        guard id >= 0 && id < tokens.count else { return [] }
        let t = tokens[id]
        if tokenTypes[id] == 3 || tokenTypes[id] == 4 { return Array(t.utf8) }
        var out: [UInt8] = []
        for u in t.unicodeScalars { if let b = Self.scalarToByte[u.value] { out.append(b) } else { out += Array(String(u).utf8) } }
        return out
    }

    // MARK: chat template

    /// The prompt for `messages` (role, content) as the file's chat template writes it, ending with the
    /// assistant's turn opened. ChatML templates (SmolLM2's, with its default system turn) are applied exactly;
    /// any other template is refused rather than guessed.
    public func chatPrompt(_ messages: [(role: String, content: String)]) throws -> String {
        guard let t = chatTemplate else { throw GGUFError("the GGUF carries no chat template") }
        guard t.contains("<|im_start|>") && t.contains("<|im_end|>") else {
            throw GGUFError("chat template not supported (gtr applies ChatML templates): \(t.prefix(60))…")
        }
        var s = ""
        if let first = messages.first, first.role != "system", t.contains("loop.first and messages[0]['role'] != 'system'"),
           let r = t.range(of: "{{ '<|im_start|>system\n"), let e = t[r.upperBound...].range(of: "<|im_end|>") {
            s += "<|im_start|>system\n" + t[r.upperBound..<e.lowerBound] + "<|im_end|>\n"
        }
        for m in messages { s += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n" }
        return s + "<|im_start|>assistant\n"
    }
}
