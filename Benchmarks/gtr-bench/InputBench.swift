import Foundation
import Shell

/// Issue 16 §5: reading 8,000 piped lines that follow an unclosed quote or brace costs about what 8,000 normal
/// lines cost (the input layer was quadratic: each line re-read the whole open unit). Measures `InputUnits` (the
/// layer that gathers lines into units, shared by the REPL and `gtr run`) alone, median of 5 runs each.
enum InputBench {
    static let lines = 8_000

    static func gather(_ first: String) -> Double {
        let body = (0..<lines).map { "echo line \($0) \"quoted $x\" { } ; act 1 + 2" }
        var runs: [Double] = []
        for _ in 0..<5 {
            runs.append(time {
                var input = InputUnits()
                var units = 0
                if let _ = input.add(first) { units += 1 }
                for l in body { if input.add(l) != nil { units += 1 } }
                while let (_, _, rest) = input.takeLeftover() { for (l, n) in rest where input.add(l, number: n) != nil { units += 1 } }
                precondition(units >= 1)
            })
        }
        return median(runs)
    }

    static func rows() -> [(String, String, String)] {
        let normal = gather("echo start"), quote = gather("echo \"never closed"), brace = gather("repeat 2 {")
        return [
            ("8,000 piped lines after an unclosed quote vs normal lines", String(format: "%.2f×", quote / normal),
             String(format: "%.1f vs %.1f ms", quote * 1000, normal * 1000)),
            ("8,000 piped lines after an unclosed brace vs normal lines", String(format: "%.2f×", brace / normal),
             String(format: "%.1f vs %.1f ms", brace * 1000, normal * 1000)),
        ]
    }
}
