import Agents
import Foundation
import Support

/// The DAgger buffer on disk (a checkpoint's `dagger.jsonl`): one line per step, `null` for a step without a label,
/// else the sample with its row (prompt, frame, target ids, weights) and provenance. Frames are run-length encoded
/// (the games draw flat colours, so a 300×300 frame takes a few kilobytes instead of 270).
enum DAggerFile {
    struct Line: Codable {
        var text: String
        var source: LabelSource
        var update: Int
        var step: Int
        var prompt: String
        var width: Int
        var height: Int
        /// Base64 of (count: UInt16 LE, r, g, b) runs.
        var frame: String
        var output: [Int32]
        var weights: [Float]
    }

    static func write(_ buffer: DAggerBuffer, to url: URL) throws {
        var out = Data()
        let enc = JSONEncoder()
        for e in buffer.entries {
            if let s = e {
                let img = s.row.input.image
                let line = Line(text: s.text, source: s.source, update: s.update, step: s.step, prompt: s.row.input.prompt,
                                width: img.width, height: img.height, frame: Data(runLength(img.pixels)).base64EncodedString(),
                                output: s.row.output, weights: s.row.weights)
                out.append(try enc.encode(line))
            } else {
                out.append(Data("null".utf8))
            }
            out.append(0x0A)
        }
        try out.write(to: url, options: .atomic)
    }

    static func read(_ url: URL, into empty: DAggerBuffer) throws -> DAggerBuffer {
        var buffer = empty
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw TrainerError.badCheckpoint("\(url.path): \(fileProblem(url, error))") }
        let dec = JSONDecoder()
        for (i, raw) in data.split(separator: 0x0A, omittingEmptySubsequences: true).enumerated() {
            if raw.elementsEqual("null".utf8) { buffer.record(nil); continue }
            guard let l = try? dec.decode(Line.self, from: Data(raw)), let runs = Data(base64Encoded: l.frame),
                  let pixels = unRunLength(Array(runs), count: l.width * l.height * 3), l.output.count == l.weights.count else {
                throw TrainerError.badCheckpoint("\(url.path) line \(i + 1) is not a DAgger sample")
            }
            let input = AgentInput(image: RGBImage(width: l.width, height: l.height, pixels: pixels), prompt: l.prompt)
            buffer.record(DAggerSample(row: TrainingRow(input: input, output: l.output, weights: l.weights), text: l.text,
                                       source: l.source, update: l.update, step: l.step))
        }
        return buffer
    }

    static func runLength(_ p: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        var i = 0
        while i + 2 < p.count {
            var n = 1
            while n < 65535, i + 3 * n + 2 < p.count, p[i + 3 * n] == p[i], p[i + 3 * n + 1] == p[i + 1], p[i + 3 * n + 2] == p[i + 2] { n += 1 }
            out += [UInt8(n & 0xFF), UInt8(n >> 8), p[i], p[i + 1], p[i + 2]]
            i += 3 * n
        }
        return out
    }

    static func unRunLength(_ r: [UInt8], count: Int) -> [UInt8]? {
        guard r.count % 5 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(count)
        for k in stride(from: 0, to: r.count, by: 5) {
            let n = Int(r[k]) | Int(r[k + 1]) << 8
            for _ in 0..<n { out += [r[k + 2], r[k + 3], r[k + 4]] }
            if out.count > count { return nil }
        }
        return out.count == count ? out : nil
    }
}
