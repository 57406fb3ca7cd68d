import Foundation
import Testing

/// The REPL on a real terminal, through tmux: TAB completion, history recall, Ctrl-C, Ctrl-D.
@Suite(.serialized) struct TerminalTests {
    final class Tmux {
        let name = "gtr-test-\(UUID().uuidString.prefix(8))"
        /// Runs tmux with its output in a file: the tmux server inherits the client's stdout and would keep a
        /// pipe open forever.
        func tmux(_ args: [String]) -> String {
            let out = FileManager.default.temporaryDirectory.appendingPathComponent("tmux-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: out) }
            spawnAndWait(["tmux"] + args, stdoutPath: args.first == "new-session" ? nil : out)
            return (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
        }
        func screen() -> String { tmux(["capture-pane", "-p", "-t", name]) }
        func keys(_ k: String...) { _ = tmux(["send-keys", "-t", name] + k) }
        /// Sends keys, then expects `text` on the screen (showing the screen when it does not appear).
        func type(_ k: String..., expect text: String, sourceLocation: SourceLocation = #_sourceLocation) {
            _ = tmux(["send-keys", "-t", name] + k)
            #expect(wait(for: text), "\(screen())", sourceLocation: sourceLocation)
        }
        /// Polls the screen until `text` shows (10 s at most).
        @discardableResult
        func wait(for text: String) -> Bool {
            for _ in 0..<200 { if screen().contains(text) { return true }; usleep(50_000) }
            return false
        }
        /// Starts gtr in a fresh session of the given size with its own GTR_HOME, and waits for the prompt.
        func startGTR(home: URL, width: Int, height: Int) {
            _ = tmux(["new-session", "-d", "-s", name, "-x", String(width), "-y", String(height),
                      "env GTR_HOME=\(home.path) NO_COLOR=1 TERM=xterm OPENBLAS_NUM_THREADS=1 \(gtrBinary)"])
            #expect(wait(for: "gtr>"), "\(screen())")
        }
        deinit { _ = tmux(["kill-session", "-t", name]) }
    }

    static var tmuxAvailable: Bool { FileManager.default.isExecutableFile(atPath: "/usr/bin/tmux") }

    @Test(.enabled(if: TerminalTests.tmuxAvailable)) func completionHistoryAndCtrlC() throws {
        let home = tempDir()
        let t = Tmux()
        t.startGTR(home: home, width: 120, height: 30)
        // TAB completes a command name and an environment name.
        t.type("en", "Tab", expect: "gtr> env")
        t.type("poi", "Tab", expect: "gtr> env points24")
        t.type(" seed=3", "Enter", expect: "points24 episode 1 seed=3")
        #expect(t.wait(for: "gtr[points24 #3 t=0]>"), "\(t.screen())")
        // TAB completes legal actions after act.
        t.type("act 1", "Tab", "Tab", expect: "10")
        t.keys("C-u")
        // Ctrl-C interrupts a long command and returns to the prompt; the shell survives.
        t.keys("sleep 60", "Enter")
        usleep(500_000)
        t.type("C-c", expect: "error: interrupted")
        t.type("echo alive", "Enter", expect: "\nalive")
        // History: Up recalls the previous lines.
        t.type("Up", "Up", expect: "> sleep 60")
        t.keys("C-u", "C-d")
        for _ in 0..<100 where FileManager.default.fileExists(atPath: home.appendingPathComponent("history").path) == false { usleep(50_000) }
        usleep(200_000)
        let history = (try? String(contentsOf: home.appendingPathComponent("history"), encoding: .utf8)) ?? ""
        #expect(history.contains("echo\\040alive") || history.contains("echo alive"), "\(history)")
    }

    /// `thought edit` and the human corrector open the line editor with the text already in it.
    @Test(.enabled(if: TerminalTests.tmuxAvailable)) func editorsArePreFilled() throws {
        let home = tempDir()
        let t = Tmux()
        t.startGTR(home: home, width: 220, height: 40)
        t.type("agent greedy=true", "Enter", expect: "greedy=true")
        t.type("env points24 seed=1 solvable_only=true", "Enter", expect: "gtr[points24 #1 t=0]>")
        t.type("think", "Enter", expect: "value:")
        t.type("thought edit", "Enter", expect: "thought> {\"cards\": [10, 9, 3, 8], \"formula\": \"\", \"thoughts\": \"My cards")
        // Ctrl-A, then Ctrl-K removes the pre-filled text: the buffer really holds it.
        t.keys("C-a", "C-k", "{\"cards\": [10, 9, 3, 8], \"formula\": \"\", \"thoughts\": \"typed\", ", "Enter")
        t.type("thought", "Enter", expect: "edited thought: {\"cards\": [10, 9, 3, 8], \"formula\": \"\", \"thoughts\": \"typed\"")
        // Ctrl-D cancels an edit, wherever the cursor is in the pre-filled line (defect 2).
        t.type("thought edit", "Enter", expect: "thought> {\"cards\": [10, 9, 3, 8], \"formula\": \"\", \"thoughts\": \"typed\"")
        t.type("C-d", expect: "edit cancelled; thought unchanged")
        t.type("corrector use human", "Enter", expect: "corrector: human")
        t.type("correct", "Enter", expect: "is the thought correct? [y/n]")
        t.type("n", "Enter", expect: "corrected> {\"cards\":[10,9,3,8],\"formula\":\"\",\"thoughts\":\"typed\"}")
        // Emacs keys work on the pre-filled text: go to the end, replace the closing of the thought.
        t.keys("C-e", "BSpace", "BSpace", " again\"}", "Enter")
        t.type("", expect: "verdict: NO")
        #expect(t.screen().contains("{+again\"}+}"), "\(t.screen())")
        t.keys("C-d")
    }

    /// A run goes on beside the prompt; pause at a step boundary, drive the current policy by hand, label the
    /// edited thought, resume (on a real terminal).
    @Test(.enabled(if: TerminalTests.tmuxAvailable)) func trainPauseHandDriveLabelResume() throws {
        let home = tempDir()
        let t = Tmux()
        t.startGTR(home: home, width: 200, height: 50)
        t.type("sft env=numberline steps=120 epochs=1 merges=200 d_model=32 layers=1 held_out=0 seed=3", "Enter", expect: "held-out:")
        t.type("train start algo=gtr env=numberline updates=500 steps=2 envs=2 eval_every=0 max_tokens=60 env_options=\"time_limit=6\"", "Enter",
               expect: "the prompt stays usable")
        t.type("echo still-usable", "Enter", expect: "\nstill-usable")
        t.type("train status", "Enter", expect: "(gtr on numberline): running")
        t.type("train pause", "Enter", expect: "run 1 paused at update")
        #expect(t.wait(for: "{run 1 paused"), "\(t.screen())")
        t.type("env numberline seed=4", "Enter", expect: "numberline episode 1 seed=4")
        t.type("think", "Enter", expect: "value:")
        t.keys("thought set '{\"current number\": 5, \"target number\": 0, \"thoughts\": \"5 is above 0, so I go down.\", '", "Enter")
        t.type("train label action=-", "Enter", expect: "(1 by hand)")
        t.type("train resume", "Enter", expect: "run 1 resumed at update")
        t.type("train stop", "Enter", expect: "the agent is now the run's policy")
        t.type("train status", "Enter", expect: "human 1")
        t.keys("C-d")
    }
}
