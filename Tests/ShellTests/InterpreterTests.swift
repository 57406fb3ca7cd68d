import Foundation
import SessionLog
import Testing
@testable import Shell

@Suite struct InterpreterTests {
    @Test func variablesLoopsAndExpect() throws {
        let sh = makeShell(tempDir())
        defer { sh.close() }
        #expect(sh.execute("env points24 cards=HJ,DJ,S6,DK"))
        #expect(sh.execute("set n 0; repeat 3 { act ( }; expect $step == 3"))
        #expect(sh.execute("undo 3; expect $step == 0 and $formula == ''"))
        #expect(sh.execute("set i 0\nwhile $done == false {\n act 6\n}\nexpect $reward == 10 \"no six can win\"") == false)
        // the failed expect names file:line:column and the message
        #expect(sh.lastOutput.contains("error: <input>:5:1: expectation failed: no six can win: -1 == 10"))
        #expect(sh.execute("reset seed=2; echo \"ep $episode t $step\""))
        #expect(sh.lastOutput.hasSuffix("ep 2 t 0\n"))
    }

    @Test func solvingByHandScoresTen() {
        let sh = makeShell(tempDir())
        defer { sh.close() }
        #expect(sh.execute("env points24 cards=H3,S3,D8,C8"))
        #expect(sh.execute("act 8 / ( 3 - 8 / 3 ) ="))
        #expect(sh.execute("expect $reward == 10 and $done and $return == 10 and $success"))
    }

    @Test func unknownCommandSuggests() {
        let sh = makeShell(tempDir(), logging: false)
        #expect(!sh.execute("solv"))
        #expect(sh.lastOutput.contains("did you mean 'solve'?"))
        #expect(!sh.execute("env poinst24"))
        #expect(sh.lastOutput.contains("points24"))
        #expect(!sh.execute("env points24 sed=3"))
        #expect(!sh.execute("act 11"))
        #expect(sh.lastOutput.contains("no environment") || sh.lastOutput.contains("not an action"))
    }

    @Test func helpListsGroupsAndUsage() {
        let sh = makeShell(tempDir(), logging: false)
        #expect(sh.execute("help"))
        for g in ["shell", "environment", "log"] { #expect(sh.lastOutput.contains(g)) }
        #expect(sh.execute("help act"))
        #expect(sh.lastOutput.contains("usage: act") && sh.lastOutput.contains("example: act"))
        #expect(!sh.execute("help nope"))
    }

    @Test func scriptsStopAtFirstErrorUnlessKeepGoing() throws {
        let dir = tempDir()
        let sh = makeShell(dir)
        defer { sh.close() }
        let text = "env points24 seed=1\nbogus\necho after\n"
        #expect(try sh.runScript(text: text, file: "a.gtr", keepGoing: false, topLevel: true) == 1)
        #expect(!sh.lastOutput.contains("after"))
        #expect(try sh.runScript(text: text, file: "a.gtr", keepGoing: true, topLevel: true) == 1)
        #expect(sh.lastOutput.contains("after"))
        try "set x 5\n".write(to: dir.appendingPathComponent("inc.gtr"), atomically: true, encoding: .utf8)
        #expect(sh.execute("run inc.gtr"))
        #expect(!sh.execute("echo $x"))             // run isolates variables
        #expect(sh.execute("source inc.gtr; expect $x == 5"))
        try "source rec.gtr\n".write(to: dir.appendingPathComponent("rec.gtr"), atomically: true, encoding: .utf8)
        #expect(!sh.execute("source rec.gtr"))     // recursion is bounded, not a crash
    }

    @Test func sqlIsReadOnlyAndLogWorks() {
        let sh = makeShell(tempDir())
        defer { sh.close() }
        #expect(sh.execute("env points24 seed=4; act 1"))
        #expect(sh.execute("sql \"SELECT COUNT(*) FROM steps WHERE session_id=$session\""))
        #expect(sh.lastOutput.contains("1\n(1 row)"))
        #expect(!sh.execute("sql \"DELETE FROM steps\""))
        #expect(sh.lastOutput.contains("read-only") || sh.lastOutput.contains("readonly"))
        #expect(!sh.execute("sql \"SELEC nonsense\""))
        #expect(sh.execute("log 5"))
        #expect(sh.lastOutput.contains("env points24 seed=4; act 1"))
        #expect(sh.execute("sessions"))
    }

    @Test func saveScriptRoundTrips() throws {
        let dir = tempDir()
        let sh = makeShell(dir)
        #expect(sh.execute("env points24 seed=12"))
        #expect(sh.execute("act 1 +"))
        #expect(!sh.execute("bogus"))
        #expect(sh.execute("save script s.gtr"))
        sh.close()
        let text = try String(contentsOf: dir.appendingPathComponent("s.gtr"), encoding: .utf8)
        #expect(text.contains("env points24 seed=12\nact 1 +\n# failed: bogus"))
        let sh2 = makeShell(dir)
        defer { sh2.close() }
        #expect(try sh2.runScript(text: text, file: "s.gtr", keepGoing: false, topLevel: true) == 0)
        #expect(sh2.execute("expect $step == 2"))
    }

    @Test func completionCandidates() throws {
        let dir = tempDir()
        try "".write(to: dir.appendingPathComponent("script.gtr"), atomically: true, encoding: .utf8)
        let sh = makeShell(dir, logging: false)
        #expect(Completion.candidates(line: "so", shell: sh, cwd: dir) == ["solve", "source"])
        #expect(Completion.candidates(line: "env p", shell: sh, cwd: dir) == ["points24"])
        #expect(Completion.candidates(line: "env points24 inv", shell: sh, cwd: dir) == ["invalid="])
        #expect(Completion.candidates(line: "env points24 invalid=r", shell: sh, cwd: dir) == ["invalid=random"])
        #expect(Completion.candidates(line: "run scr", shell: sh, cwd: dir) == ["script.gtr"])
        #expect(sh.execute("env points24 seed=1"))
        #expect(Completion.candidates(line: "act 1", shell: sh, cwd: dir) == ["1", "10"])
        #expect(Completion.candidates(line: "repeat 2 { ac", shell: sh, cwd: dir).contains("act"))
    }
}

@Suite struct ReplayTests {
    @Test func replayRoundTripAndDivergence() throws {
        let dir = tempDir()
        let sh = makeShell(dir)
        for c in ["env points24 seed=21", "act 10 +", "reset seed=22", "repeat 2 { act ( }", "solve", "status", "env blackjack seed=5", "act hit", "echo $return"] {
            _ = sh.execute(c)
        }
        let id = sh.log!.sessionID
        let db = sh.databasePath
        sh.close()
        let report = try Replay.run(session: id, database: db, config: sh.config)
        #expect(report.identical, "\(report.lines)")
        #expect(report.lines.last?.contains("identical") == true)
        // Tamper with a logged reward: the replay must report the first divergence.
        let c = try SQLiteConnection(path: db)
        try c.exec("UPDATE steps SET reward = 5 WHERE session_id=\(id) AND id = (SELECT MIN(id) FROM steps WHERE session_id=\(id))")
        c.close()
        let bad = try Replay.run(session: id, database: db, config: sh.config)
        #expect(!bad.identical)
        #expect(bad.lines.first?.contains("first divergence at command 2") == true, "\(bad.lines)")
    }
}

@Suite struct HouseholdShellTests {
    @Test func envAlfworldAdmissibleExpertGoalAndCompletion() throws {
        let dir = tempDir()
        let sh = makeShell(dir)
        defer { sh.close() }
        #expect(sh.execute("env alfworld task=pick_clean_then_place_in_recep seed=2"))
        #expect(sh.lastOutput.contains("-= Welcome to TextWorld, ALFRED! =-") && sh.lastOutput.contains("Your task is to: "))
        #expect(sh.execute("admissible"))
        #expect(sh.lastOutput.contains("admissible command(s):") && sh.lastOutput.contains("  look"))
        #expect(sh.execute("goal"))
        #expect(sh.lastOutput.contains("goal conditions: 0/3"))
        #expect(sh.execute("expert"))
        let next = sh.lastOutput.split(separator: "\n").first { $0.hasPrefix("next: ") }.map { String($0.dropFirst(6)) } ?? ""
        #expect(next.hasPrefix("go to "))
        // TAB completion offers the next word of admissible commands.
        let words = next.split(separator: " ")
        let c = Completion.candidates(line: "act go to \(words[2].prefix(2))", shell: sh, cwd: dir)
        #expect(c.contains(String(words[2])))
        #expect(Completion.candidates(line: "act ", shell: sh, cwd: dir).contains("go"))
        #expect(sh.execute("act \(next)"))
        #expect(sh.lastOutput.contains("You arrive at"))
        // Play the expert to the end.
        var guardSteps = 0
        while sh.execute("expert"), let n = sh.lastOutput.split(separator: "\n").first(where: { $0.hasPrefix("next: ") }), guardSteps < 30 {
            #expect(sh.execute("act " + n.dropFirst(6)))
            guardSteps += 1
        }
        #expect(sh.execute("goal"))
        #expect(sh.lastOutput.contains("3/3"))
        #expect(sh.execute("expect $done"))
        #expect(!sh.execute("solve"))
        #expect(!sh.execute("env numberline seed=1; admissible"))
        #expect(sh.lastOutput.contains("numberline has action tokens, not commands"))
    }
}
