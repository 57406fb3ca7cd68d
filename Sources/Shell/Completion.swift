import Environments
import Foundation

/// TAB completion: command names, subcommands, option names (`key=`), the values of a few options, the current
/// environment's legal actions after `act`, and file paths. Pure (line in, candidates out) so tests can call it.
public enum Completion {
    /// Values offered after `key=` for options whose value an environment validates (not declared by a command).
    static let envOptionValues: [String: [String]] = [
        "invalid": InvalidActionPolicy.allCases.map(\.rawValue), "solvable_only": ["true", "false"], "ranks": ["10", "13"],
        "shared_locations": ["true", "false"], "gtr_truncation": ["true", "false"], "parse": ["gtr", "exact"],
    ]

    /// Candidates for the word that ends at `line`'s end (`line` is the text before the cursor).
    public static func candidates(line: String, shell: Shell?, cwd: URL) -> [String] {
        // The current statement starts after the last ';', '{' or '}'.
        let stmt = line.split(omittingEmptySubsequences: false, whereSeparator: { $0 == ";" || $0 == "{" || $0 == "}" }).last.map(String.init) ?? ""
        var words = stmt.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        let current = stmt.hasSuffix(" ") || stmt.isEmpty ? "" : (words.popLast() ?? "")
        func filter(_ list: [String]) -> [String] { Array(Set(list.filter { $0.hasPrefix(current) })).sorted() }

        guard let cmd = words.first else { return filter(Shell.commandNames + ["repeat", "while", "if"]) }
        let spec = Shell.spec(cmd)
        if let eq = current.firstIndex(of: "=") {
            let key = String(current[..<eq])
            if let o = spec?.option(key) {
                if case .path = o.kind { return paths(String(current[current.index(after: eq)...]), cwd: cwd).map { key + "=" + $0 } }
                return filter(o.kind.completions.map { key + "=" + $0 })
            }
            return filter((envOptionValues[key] ?? []).map { key + "=" + $0 })
        }
        let positionals = words.dropFirst().filter { Arguments.optionKey(of: $0) == nil }
        var list: [String] = []
        switch cmd {
        case "help":
            if positionals.isEmpty { list = Shell.commandNames }
        case "act":
            if let e = shell?.env, e.actionsAreCommands {
                // Household commands are several words: offer the next word of every admissible command that
                // starts with the words typed so far.
                let typed = Array(positionals)
                list = e.legalActions.compactMap { c in
                    let w = c.split(separator: " ").map(String.init)
                    guard w.count > typed.count, Array(w.prefix(typed.count)) == typed else { return nil }
                    return w[typed.count]
                }
            } else {
                list = (shell?.env?.legalActions ?? []) + ["text="] + (positionals.isEmpty ? ["from-thought"] : [])
            }
        case "run", "source", "image":
            if positionals.isEmpty { return paths(current, cwd: cwd) }
        case "save":
            if positionals.isEmpty { list = ["script"] } else { return paths(current, cwd: cwd) }
        case "env":
            if positionals.isEmpty { list = spec?.subcommands ?? [] } else if let e = EnvironmentRegistry.entries.first(where: { $0.name == positionals[0] }) { list = e.options }
        case "reset":
            if let name = shell?.env?.name, let e = EnvironmentRegistry.entries.first(where: { $0.name == name }) { list = e.options }
        default:
            if let spec {
                if positionals.count < spec.positionals.count, let c = spec.positionals[positionals.count].choices { list += c }
                list += spec.options.map { $0.key + "=" }
            }
            if current.contains("/") || current.hasPrefix(".") || current.hasPrefix("~") { return paths(current, cwd: cwd) }
        }
        return filter(list)
    }

    /// Files and folders whose path starts with `prefix` (folders end in "/").
    static func paths(_ prefix: String, cwd: URL) -> [String] {
        let expanded = prefix.hasPrefix("~/") ? FileManager.default.homeDirectoryForCurrentUser.path + prefix.dropFirst(1) : prefix
        let dirPart = (expanded as NSString).deletingLastPathComponent
        let namePart = expanded.hasSuffix("/") ? "" : (expanded as NSString).lastPathComponent
        let dirURL = dirPart.isEmpty ? cwd : (dirPart.hasPrefix("/") ? URL(fileURLWithPath: dirPart) : cwd.appendingPathComponent(dirPart))
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dirURL.path) else { return [] }
        let shownDir = prefix.hasSuffix("/") ? prefix : String(prefix.dropLast(namePart.count))
        return names.filter { $0.hasPrefix(namePart) && (namePart.hasPrefix(".") || !$0.hasPrefix(".")) }.sorted().map { n in
            var isDir: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: dirURL.appendingPathComponent(n).path, isDirectory: &isDir)
            return shownDir + n + (isDir.boolValue ? "/" : "")
        }
    }
}
