import Foundation
import Testing
@testable import Shell

/// Defects a new user hit (issue 12), each pinned by a test that failed before the fix.
@Suite(.serialized) struct DefectTests {
    static let setup = ["model load default", "agent greedy=true", "env points24 seed=1 solvable_only=true", "think"]

    /// The action rescore puts on top (greedy) is the action act from-thought plays; no second "action" is written.
    @Test func rescoreAndActFromThoughtUseOneContinuation() throws {
        let sh = makeShell(tempDir())
        for c in Self.setup { #expect(sh.execute(c), "\(sh.lastOutput)") }
        #expect(sh.execute("correct"))
        #expect(sh.execute("thought set '{\"cards\": [1, 2, 3, 4], \"formula\": \"\", \"thoughts\": \"I am lost\"'"))
        #expect(sh.execute("correct"))
        #expect(sh.execute("correct apply"), "\(sh.lastOutput)")
        #expect(sh.execute("rescore"), "\(sh.lastOutput)")
        let shown = try #require(sh.lastOutput.split(separator: "\n").first { $0.hasPrefix("act from-thought plays '") })
        let top = String(shown.split(separator: "'")[1])
        #expect(sh.execute("act from-thought"), "\(sh.lastOutput)")
        #expect(sh.lastOutput.contains("continued: \(top) "), "\(sh.lastOutput)")
        #expect(sh.lastOutput.contains("t=1 \(top) → reward"), "\(sh.lastOutput)")
        let played = try #require(sh.agent.turn?.output.text)
        #expect(played.components(separatedBy: "\"action\":").count == 2, "\(played)")
        #expect(!sh.lastOutput.contains("invalid"))
    }

    /// Setting the model's own thought, as `thought` shows it or with the hidden `", ` separator, changes nothing.
    @Test func ownThoughtCopiedFromTheScreenScoresTheSame() throws {
        let sh = makeShell(tempDir())
        for c in Self.setup { #expect(sh.execute(c)) }
        #expect(sh.execute("thought"))
        let line = try #require(sh.lastOutput.split(separator: "\n").first { $0.hasPrefix("editable thought: ") })
        let own = String(line.dropFirst("editable thought: ".count))
        for variant in [own, own + ", ", own + ", \"action\": \"9\"}"] {
            #expect(sh.execute("thought set " + Shell.quoted(variant)), "\(sh.lastOutput)")
            #expect(sh.execute("rescore"), "\(sh.lastOutput)")
            let o = sh.lastOutput
            let rows = o.split(separator: "\n").filter { $0.hasPrefix("  ") && $0.contains("→") }
            #expect(!rows.isEmpty)
            for r in rows { #expect(r.hasSuffix("(+0.0)"), "\(o)") }
        }
    }

    @Test func ctrlDInThoughtEditCancels() throws {
        let sh = makeShell(tempDir())
        for c in Self.setup { #expect(sh.execute(c)) }
        sh.lineSource = ScriptedLines([])
        #expect(!sh.execute("thought edit"))
        #expect(sh.lastOutput.contains("edit cancelled; thought unchanged"))
        #expect(sh.agent.turn?.editedThought == nil)
    }

    /// `save script` writes what play and thought edit did, so the saved script runs and reproduces the steps.
    @Test func savedScriptWithPlayAndEditRuns() throws {
        let dir = tempDir()
        let sh = makeShell(dir)
        sh.lineSource = ScriptedLines(["4 * 3", "undo", "2", "quit"])
        #expect(sh.execute("play points24 hands=1 seed=7 solvable_only=true"), "\(sh.lastOutput)")
        for c in Self.setup { #expect(sh.execute(c)) }
        sh.lineSource = ScriptedLines(["{\"cards\": [10, 9, 3, 8], \"formula\": \"\", \"thoughts\": \"edited by hand\""])
        #expect(sh.execute("thought edit"), "\(sh.lastOutput)")
        #expect(sh.execute("act from-thought"))
        let played = sh.episode!.steps.map(\.action)
        #expect(sh.execute("save script s.gtr"))
        let text = try String(contentsOf: dir.appendingPathComponent("s.gtr"), encoding: .utf8)
        #expect(text.contains("env points24 seed=7 solvable_only=true\nact 4 * 2\n"), "\(text)")
        #expect(text.contains("thought set \"{\\\"cards\\\": [10, 9, 3, 8], \\\"formula\\\": \\\"\\\", \\\"thoughts\\\": \\\"edited by hand\\\"\""), "\(text)")
        let again = makeShell(dir)
        #expect(try again.runScript(text: text, file: "s.gtr", keepGoing: false, topLevel: true) == 0, "\(again.lastOutput)")
        #expect(again.episode!.steps.map(\.action) == played)
    }

    @Test func outputReadsRight() throws {
        let sh = makeShell(tempDir())
        #expect(sh.execute("help"))
        for name in ["gen-household", "conformance", "correct"] { #expect(sh.lastOutput.contains("  \(name) "), "\(name)") }
        #expect(sh.execute("env alfworld seed=0 task=pick_and_place_simple; actions"))
        #expect(sh.lastOutput.contains(", "))
        #expect(sh.execute("agent temperature=0.7; status"))
        for k in ["model:", "corrector: oracle", "sampling:  temperature=0.7"] { #expect(sh.lastOutput.contains(k), "\(sh.lastOutput)") }
        // Output printed while a live progress bar is open starts on a new line.
        sh.liveBarOpen = true
        #expect(sh.endLiveBar() == "\n" && !sh.liveBarOpen && sh.endLiveBar() == "")
        var bar = ProgressBar(total: 10, label: "x", live: true) { _, _ in }
        var lines: [(String, Bool)] = []
        bar = ProgressBar(total: 10, label: "x", live: true) { t, f in lines.append((t, f)) }
        bar.update(3, "")
        bar.finish()
        #expect(lines.last?.1 == true)
    }

    @Test func quotedOptionsAreOptions() throws {
        let sh = makeShell(tempDir())
        #expect(sh.execute("env points24 seed=\"5\""), "\(sh.lastOutput)")
        #expect(sh.execute("expect $seed == 5"))
        #expect(sh.execute("env points24 cards=\"HA,S2,D3,C4\""), "\(sh.lastOutput)")
        #expect(sh.lastOutput.contains("HA") || sh.lastOutput.contains("1, 2, 3, 4") || sh.lastOutput.contains("A"), "\(sh.lastOutput)")
        #expect(sh.execute("act text=\"{\\\"thoughts\\\": \\\"four\\\", \\\"action\\\": \\\"4\\\"}\""), "\(sh.lastOutput)")
        #expect(sh.execute("expect $action == 4"))
        #expect(sh.execute("undo"), "\(sh.lastOutput)")  // act text= can be undone
        #expect(sh.execute("expect $step == 0"))
        // A word quoted from its first character is a plain word.
        #expect(!sh.execute("env points24 \"seed=5\""))
    }

    @Test func extraWordsAndBadValuesAreErrors() throws {
        let sh = makeShell(tempDir())
        for bad in ["env points24 foo", "sessions -5", "quit 3", "log 0", "status now", "auto episodes=0", "agent temperature=hot",
                    "eval episodes=2 seed=-1", "corrector use oracle url=x", "think extra", "solve all=maybe", "env points24 seed=1 seed=2"] {
            #expect(!sh.execute(bad), "\(bad)")
            #expect(sh.lastOutput.hasPrefix("error: ") && sh.lastOutput.split(separator: "\n").count == 1, "\(bad): \(sh.lastOutput)")
        }
        #expect(!sh.quitRequested)
    }

    @Test func unterminatedQuoteInPipedInputIsReportedAtItsLine() throws {
        let sh = makeShell(tempDir())
        let failures = try sh.runScript(text: "echo \"open\necho next\nset x 1", file: "p.gtr", keepGoing: true, topLevel: true)
        #expect(failures == 1)
        #expect(sh.variables["x"] == "1")
        let r = try runGTR([], input: "echo \"open\necho next\n", home: tempDir())
        #expect(r.stderr.contains(":1:6: syntax error: unterminated double quote"), "\(r.stderr)")
        #expect(r.stdout.contains("next"), "\(r.stdout)")
    }

    @Test func fileErrorsAreGTRsOwnWords() throws {
        let dir = tempDir()
        let sh = makeShell(dir)
        #expect(sh.execute("env points24 seed=1"))
        for (cmd, words) in [("image /nonexistent-dir/x.png", "no such directory"), ("image .", "it is a directory"),
                             ("run /nonexistent.gtr", "no such file"), ("run .", "it is a directory"), ("save script /nonexistent-dir/s.gtr", "no such directory")] {
            #expect(!sh.execute(cmd), "\(cmd)")
            #expect(sh.lastOutput.contains(words), "\(cmd): \(sh.lastOutput)")
            #expect(!sh.lastOutput.contains("NSCocoaErrorDomain") && !sh.lastOutput.contains("The file"), "\(sh.lastOutput)")
        }
    }
}

/// Defect 5: every agent command refuses a prompt the model's context cannot hold, the same way and before
/// anything is dealt or drawn.
@Suite(.serialized) struct ContextRefusalTests {
    @Test func thinkStepAutoEvalRefuseAlike() throws {
        let sh = makeShell(tempDir())
        #expect(sh.execute("model load default"))
        #expect(sh.execute("env alfworld seed=0 task=pick_and_place_simple"))
        var messages: [String] = []
        for cmd in ["think", "step", "auto episodes=2", "eval episodes=2"] {
            #expect(!sh.execute(cmd), "\(cmd)")
            let o = sh.lastOutput
            #expect(o.split(separator: "\n").count == 1, "\(cmd): \(o)")
            #expect(o.contains("the model reads at most"), "\(cmd): \(o)")
            // "error: <input>:1:1: CMD: message": the message after the command's name is the same for all four.
            messages.append(o.components(separatedBy: "\(cmd.split(separator: " ")[0]): ").dropFirst().joined())
        }
        #expect(Set(messages).count == 1, "\(messages)")
        #expect(sh.episode?.number == 1 && sh.episode?.stepCount == 0)
    }
}

/// Defect 8: model files that are not regular files (a FIFO, a directory) are one clear line, never Foundation's
/// words and never a blocked read.
@Suite struct FileErrorTests {
    @Test func fifoAndDirectoryCheckpointsAreRefused() throws {
        let dir = tempDir()
        let sh = makeShell(dir)
        sh.autoLoadDefault = false
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("fifo"), withIntermediateDirectories: true)
        #expect(mkfifo(dir.appendingPathComponent("fifo/config.json").path, 0o644) == 0)
        #expect(!sh.execute("model load fifo"))
        #expect(sh.lastOutput.contains("is not a regular file"), "\(sh.lastOutput)")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("dirs/config.json"), withIntermediateDirectories: true)
        #expect(!sh.execute("model load dirs"))
        #expect(sh.lastOutput.contains("is not a regular file"), "\(sh.lastOutput)")
        for o in [sh.lastOutput] { #expect(!o.contains("NSCocoaErrorDomain") && !o.contains("You don't have permission")) }
    }
}

/// Issue 16 §1: a path the user names that is a FIFO, a directory or under a file is one error line in gtr's
/// words, and writing never blocks on a FIFO.
@Suite struct UserPathTests {
    @Test func specialFilesAndBadFoldersAreOneLineErrors() throws {
        let dir = tempDir()
        let fifo = dir.appendingPathComponent("fifo").path
        #expect(mkfifo(fifo, 0o644) == 0)
        try Data("x".utf8).write(to: dir.appendingPathComponent("file"))
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("adir"), withIntermediateDirectories: true)
        let sh = makeShell(dir)
        defer { sh.close() }
        let cases: [(String, String)] = [
            ("save script \(fifo)", "not a regular file"), ("run \(fifo)", "not a regular file"),
            ("save script \(dir.path)/adir", "it is a directory"), ("source \(dir.path)/adir", "it is a directory"),
            ("save script \(dir.path)/file/sub", "cannot be created here"), ("run /nonexistent-gtr/x.gtr", "no such directory /nonexistent-gtr"),
            ("model load \(fifo)", "has no config.json"),
        ]
        for (cmd, want) in cases {
            #expect(!sh.execute(cmd), "\(cmd)")
            let o = sh.lastOutput
            #expect(o.contains(want) && o.split(separator: "\n").count == 1, "\(cmd): \(o)")
            #expect(!o.contains("Domain") && !o.contains("Foundation") && !o.contains("You don"), "\(cmd): \(o)")
        }
    }
}
