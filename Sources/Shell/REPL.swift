@preconcurrency import CEditLine
import CLineEditor
import Foundation

/// Lines from libedit, with history and TAB completion (interactive terminals).
public final class EditLineSource: LineSource {
    let historyPath: String
    nonisolated(unsafe) static weak var shell: Shell?
    nonisolated(unsafe) static var matches: [String] = []
    nonisolated(unsafe) static var matchIndex = 0
    nonisolated(unsafe) static var cwd = URL(fileURLWithPath: "/")

    public init(historyPath: String, shell: Shell) {
        self.historyPath = historyPath
        EditLineSource.shell = shell
        EditLineSource.cwd = shell.config.workingDirectory
        setlocale(LC_CTYPE, "")
        gtr_rl_set_name("gtr")
        using_history()
        stifle_history(5000)
        _ = read_history(historyPath)
        gtr_rl_set_word_break(" \t;{}")
        gtr_rl_set_completion { text, state in
            if state == 0 {
                let line = String(cString: gtr_rl_line_buffer())
                let point = Int(gtr_rl_point())
                let before = String(line.utf8.prefix(point)) ?? line
                EditLineSource.matches = Completion.candidates(line: before, shell: EditLineSource.shell, cwd: EditLineSource.cwd)
                EditLineSource.matchIndex = 0
                let single = EditLineSource.matches.count == 1 ? EditLineSource.matches[0] : ""
                gtr_rl_set_append_char(single.hasSuffix("=") || single.hasSuffix("/") ? 0 : 32)
            }
            _ = text
            guard EditLineSource.matchIndex < EditLineSource.matches.count else { return nil }
            let m = EditLineSource.matches[EditLineSource.matchIndex]
            EditLineSource.matchIndex += 1
            return strdup(m)
        }
    }

    public func readLine(prompt: String) -> String? { readLine(prompt: prompt, initial: nil) }

    /// A line to replace `initial`, which is already in the editing buffer (a separate native EditLine replays it
    /// as typed input, since libedit's readline layer resets any pre-inserted buffer). Emptying the line and
    /// pressing Enter keeps nothing; Ctrl-D cancels.
    public func readLine(prompt: String, initial: String?) -> String? {
        if let initial {
            guard let p = gtr_edit_prefilled(prompt, initial) else { return nil }
            defer { free(p) }
            return String(cString: p)
        }
        guard let p = CEditLine.readline(prompt) else { return nil }
        defer { free(p) }
        let s = String(cString: p)
        if !s.trimmingCharacters(in: .whitespaces).isEmpty { add_history(s) }
        if let initial, s.isEmpty { return initial }
        return s
    }

    public func save() {
        _ = write_history(historyPath)
    }
}

/// Lines from a pipe or file: no prompt, no escape codes.
public final class StdinSource: LineSource {
    public init() {}
    public func readLine(prompt: String) -> String? { Swift.readLine(strippingNewline: true) }
}

/// The read-eval-print loop shared by the terminal and piped modes.
public enum REPL {
    /// Runs until end of input or `quit`; returns the process exit status (1 if any command failed when not
    /// interactive).
    public static func run(shell: Shell, source: LineSource, interactive: Bool) -> Int32 {
        shell.lineSource = source
        var failures = 0
        var input = InputUnits()
        let file = interactive ? "<repl>" : "<stdin>"
        while true {
            if input.isEmpty { shell.drainTrainingNotices() }
            let prompt = interactive ? (input.isEmpty ? shell.prompt : "...> ") : ""
            guard let line = source.readLine(prompt: prompt) else {
                if interactive && Interrupt.pending {
                    Interrupt.clear(); input.discard()
                    print("")
                    continue
                }
                break
            }
            if interactive && Interrupt.pending { Interrupt.clear() }
            guard let (unit, startLine) = input.add(line) else { continue }
            if !shell.execute(unit, file: file, line: startLine) { failures += 1 }
            if shell.quitRequested { break }
        }
        // An unfinished unit is reported at its opening; the lines after it run from the next new command.
        recovering: while !shell.quitRequested, let (unit, startLine, rest) = input.takeLeftover() {
            shell.execute(unit, file: file, line: startLine)
            failures += 1
            for (line, number) in rest {
                guard let (u, s) = input.add(line, number: number) else { continue }
                if !shell.execute(u, file: file, line: s) { failures += 1 }
                if shell.quitRequested { break recovering }
            }
        }
        (source as? EditLineSource)?.save()
        if interactive { print("") }
        shell.close()
        return !interactive && failures > 0 ? 1 : 0
    }
}
