import Foundation
import Support
import Testing
@testable import Environments
@testable import Shell

/// 100,000 random and mutated command lines through the lexer, parser and dispatcher: no crash, no hang.
@Suite(.serialized) struct FuzzTests {
    static let seeds = [
        "env points24 seed=3", "act 10 + 2", "repeat 3 { act ( }", "while $done == false { act 1 }", "expect $reward == 10 \"m\"",
        "set x 'a b'; echo $x", "solve", "undo 2", "reset seed=99999999999999999999", "show prompt", "if $done { echo y } else { echo n }",
        "env ezpoints cards=H3,S4", "act text=\"{\\\"action\\\": \\\"3\\\"}\"", "env blackjack", "act hit", "env numberline",
        "help act", "vars", "actions", "image out.png", "run nope.gtr", "sql \"SELECT 1\"", "echo ${x}", "log 3", "status",
    ]

    @Test func hundredThousandLines() throws {
        let dir = tempDir()
        let sh = makeShell(dir, logging: false)
        sh.statementBudget = 200
        var rng = SeededRNG(seed: 2026)
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789 =+-*/(){}[];#$'\"\\\n\t.,!<>~?&|^%@`".unicodeScalars)
        for i in 0..<100_000 {
            var line: String
            switch i % 5 {
            case 0:  // random bytes, including invalid UTF-8 (decoded with replacement, as stdin would be)
                let bytes = (0..<rng.int(in: 0...60)).map { _ in UInt8(rng.int(in: 0...255)) }
                line = String(decoding: bytes, as: UTF8.self)
            case 1:  // random characters from the language's alphabet
                line = String(String.UnicodeScalarView((0..<rng.int(in: 0...50)).map { _ in rng.pick(alphabet) }))
            case 2:  // mutated valid commands
                var s = Array(rng.pick(FuzzTests.seeds).unicodeScalars)
                for _ in 0..<rng.int(in: 1...4) {
                    let op = rng.int(in: 0...2)
                    let pos = s.isEmpty ? 0 : rng.int(in: 0...(s.count - 1))
                    if op == 0 || s.isEmpty { s.insert(rng.pick(alphabet), at: min(pos, s.count)) } else if op == 1 { s.remove(at: pos) } else { s[pos] = rng.pick(alphabet) }
                }
                line = String(String.UnicodeScalarView(s))
            case 3:  // deep nesting and unbalanced blocks
                let n = rng.int(in: 1...300)
                line = String(repeating: rng.pick(["repeat 2 { ", "while 1 { ", "( ", "{ ", "if 1 { "]), count: n) + "act 1" + String(repeating: "}", count: rng.int(in: 0...n))
            default:  // huge numbers and odd options
                line = rng.pick(["repeat", "act", "reset seed=", "undo", "env points24 seed=", "sleep"]) + " " + String(repeating: "9", count: rng.int(in: 1...40))
            }
            if line.contains("sleep") { line = line.replacingOccurrences(of: "sleep", with: "echo") }
            if ProcessInfo.processInfo.environment["FUZZ_TRACE"] != nil { FileHandle.standardError.write(Data("\(i) \(line.debugDescription)\n".utf8)) }
            _ = sh.execute(line, file: "fuzz", line: i + 1)
            sh.quitRequested = false
        }
        sh.statementBudget = nil
        // After 100,000 hostile lines the shell still works normally.
        #expect(sh.execute("env points24 seed=1; act 1; expect $step == 1"))
        sh.close()
    }
}
