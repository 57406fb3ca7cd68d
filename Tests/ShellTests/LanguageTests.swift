import Testing
@testable import Shell

@Suite struct LexerTests {
    func words(_ s: String) throws -> [String] {
        try Lexer.tokenize(s).compactMap { if case let .word(w) = $0 { return w.literal ?? "<var>" }; return nil }
    }

    @Test func quotingAndEscapes() throws {
        #expect(try words(#"act 10 "a b" 'c $d' e\ f"#) == ["act", "10", "a b", "c $d", "e f"])
        #expect(try words(#"echo "x\"y\\z\n""#) == ["echo", "x\"y\\z\n"])
        #expect(try words("echo a # comment ; not a command") == ["echo", "a"])
        #expect(try words("echo a#b") == ["echo", "a#b"])
        #expect(try words("echo $x") == ["echo", "<var>"])
        #expect(try words(#"echo '$x' "\$x""#) == ["echo", "$x", "$x"])
    }

    @Test func separatorsAndBraces() throws {
        let toks = try Lexer.tokenize("a; b\nrepeat 2 { c }")
        var seps = 0, braces = 0
        for t in toks {
            if case .separator = t { seps += 1 }
            if case .openBrace = t { braces += 1 }
            if case .closeBrace = t { braces += 1 }
        }
        #expect(seps == 2 && braces == 2)
        #expect(try words(#"echo "{" x{y}"#) == ["echo", "{", "x{y}"])
        // regression (found by the fuzz test): a word starting with a non-standalone brace
        #expect(try words("echo }gg a}") == ["echo", "}gg", "a}"])
    }

    @Test func errorsCarryPositions() {
        do { _ = try Lexer.tokenize("ok\necho \"open", file: "s.gtr"); Issue.record("no error") } catch let e as ShellSyntaxError {
            #expect(e.position == SourcePosition(file: "s.gtr", line: 2, column: 6))
            // A quote ends on its own line: reported at once, never waiting for (and swallowing) more lines.
            #expect(!e.incomplete)
        } catch { Issue.record("\(error)") }
    }
}

@Suite struct ParserTests {
    @Test func blocksSpanLines() throws {
        let s = try Parser.parse("repeat 3 {\n  act 1\n  while $done == false {\n act +\n }\n}\necho done")
        #expect(s.count == 2)
        guard case let .repeatBlock(_, body, _) = s[0] else { Issue.record("not a repeat"); return }
        #expect(body.count == 2)
        guard case .whileBlock = body[1] else { Issue.record("not a while"); return }
    }

    @Test func incompleteAndErrors() {
        #expect(Shell.completeness("repeat 2 {") == .needMore)
        #expect(Shell.completeness("repeat 2 {\n act 1") == .needMore)
        // A quote never spans lines (defect: an unterminated quote in piped input swallowed the lines after it);
        // a backslash at the end of a double-quoted line continues it.
        #expect(Shell.completeness("echo 'x") == .complete)
        #expect(Shell.completeness("echo \"x\\") == .needMore)
        #expect(Shell.completeness("repeat 2 {\n act 1\n}") == .complete)
        #expect(throws: ShellSyntaxError.self) { try Parser.parse("}") }
        #expect(throws: ShellSyntaxError.self) { try Parser.parse("act { 1 }") }
        #expect(throws: ShellSyntaxError.self) { try Parser.parse(String(repeating: "repeat 1 { ", count: 100) + String(repeating: "} ", count: 100)) }
        do { _ = try Parser.parse("echo 1\n\n  }", file: "f.gtr"); Issue.record("no error") } catch let e as ShellSyntaxError {
            #expect(e.position.line == 3 && e.position.column == 3)
        } catch { Issue.record("\(error)") }
    }

    @Test func ifElse() throws {
        let s = try Parser.parse("if 1 == 1 { echo a } else { echo b }")
        guard case let .ifBlock(c, t, o, _) = s[0] else { Issue.record("not if"); return }
        #expect(c.count == 3 && t.count == 1 && o.count == 1)
    }
}

@Suite struct ConditionTests {
    @Test func comparisonsAndLogic() throws {
        #expect(try Condition.evaluate(["10", "==", "10.0"]))
        #expect(try Condition.evaluate(["9", "<", "10"]))          // numeric, not "9" < "10" as strings
        #expect(try Condition.evaluate(["abc", "<", "abd"]))
        #expect(try Condition.evaluate(["x", "!=", "y", "and", "not", "false"]))
        #expect(try !Condition.evaluate(["1", "==", "2", "or", "(", "0", ")"]))
        #expect(try Condition.evaluate(["not", "(", "1", ">", "2", "and", "true", ")"]))
        #expect(try Condition.evaluate(["true"]) && !(try Condition.evaluate(["0"])) && !(try Condition.evaluate([""])))
        #expect(throws: Condition.EvalError.self) { try Condition.evaluate(["1", "=="]) }
        #expect(throws: Condition.EvalError.self) { try Condition.evaluate(["(", "1"]) }
        #expect(throws: Condition.EvalError.self) { try Condition.evaluate([]) }
    }
}

/// Issue 16 §5: the input layer is linear, reports an unclosed block where it opens, recovers at the next
/// command in piped input, and the language has size limits with clear errors.
@Suite struct InputRecoveryTests {
    @Test func anUnclosedBlockIsReportedAtItsOpeningAndPipedInputGoesOn() throws {
        let r = try runGTR([], input: "echo a\nrepeat 2 {\n  echo in\necho b\n  echo c\n", home: tempDir())
        #expect(r.status == 1)
        #expect(r.stderr.contains("<stdin>:2:10: syntax error: unterminated block"), "\(r.stderr)")
        #expect(r.stdout == "a\nb\nc\n", "\(r.stdout)")
        // A closed block and an unclosed quote are as before: the quote is reported on its line, the rest runs.
        let q = try runGTR([], input: "echo \"open\necho after\n", home: tempDir())
        #expect(q.stderr.contains("<stdin>:1:6: syntax error: unterminated double quote") && q.stdout == "after\n", "\(q.stdout) \(q.stderr)")
    }

    @Test func eightThousandLinesAfterAnUnclosedBraceAreEachRead() {
        var input = InputUnits()
        var units: [(String, Int)] = []
        #expect(input.add("repeat 2 {") == nil)
        for k in 0..<8000 { if let u = input.add("echo \(k)") { units.append(u) } }
        #expect(units.isEmpty)  // still inside the block until the input ends
        guard let (unit, start, rest) = input.takeLeftover() else { Issue.record("no leftover"); return }
        #expect(start == 1 && unit.hasPrefix("repeat 2 {") && rest.count == 8000 && rest.first! == ("echo 0", 2))
        for (l, n) in rest { if let u = input.add(l, number: n) { units.append(u) } }
        #expect(units.count == 8000 && units.last! == ("echo 7999", 8001))
        #expect(throws: ShellSyntaxError.self) { try Parser.parse(unit) }
        do { _ = try Parser.parse(unit); Issue.record("no error") } catch let e as ShellSyntaxError {
            #expect(e.position.line == 1 && e.position.column == 10 && e.message.contains("unterminated block"))
        } catch { Issue.record("\(error)") }
        // Multi-line blocks and continued lines still make one unit.
        var i2 = InputUnits()
        #expect(i2.add("repeat 2 {") == nil && i2.add("  if $done {") == nil && i2.add("    reset") == nil && i2.add("  }") == nil)
        #expect(i2.add("}")?.1 == 1)
        #expect(i2.add("echo \"one \\") == nil)
        #expect(i2.add("two\"")?.0 == "echo \"one \\\ntwo\"")
        #expect(i2.add("repeat 3") == nil && i2.add("{ echo x }")?.0 == "repeat 3\n{ echo x }")
    }

    @Test func variablesAndCapturedOutputHaveLimits() {
        let sh = makeShell(tempDir())
        #expect(sh.execute("set x ab"))
        #expect(!sh.execute("repeat 30 { set x $x$x }"))
        #expect(sh.lastOutput.contains("would exceed 1 MiB after expanding $x"))
        #expect(sh.lastOutput.split(separator: "\n").count == 1)
        #expect(sh.variables["x"]!.utf8.count == 1 << 20)  // the last doubling that fit
        #expect(!sh.execute("set y $x $x"))
        #expect(sh.lastOutput.contains("variables are limited to 1 MiB"))
        #expect(sh.execute("repeat 9 { echo $x }"))
        #expect(sh.lastOutput.utf8.count <= Shell.maxCapturedBytes + 100)
        #expect(sh.lastOutput.hasSuffix("[output beyond 8 MiB is not kept in the log]\n"))
        #expect(sh.execute("echo still here") && sh.lastOutput == "still here\n")
        sh.close()
    }
}
