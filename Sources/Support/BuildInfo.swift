import Foundation

/// Facts about this build: the git commit of the checkout the binary was built in, read from `.git` files next
/// to the executable (no `git` process at start-up), or `GTR_GIT_COMMIT` when set.
public enum BuildInfo {
    /// gtr's version, in every session row and the server's metadata.
    public static let version = "0.1.0"

    public static let gitCommit: String? = {
        if let c = ProcessInfo.processInfo.environment["GTR_GIT_COMMIT"], !c.isEmpty { return c }
        var dir = URL(fileURLWithPath: CommandLine.arguments.first ?? ".").resolvingSymlinksInPath().deletingLastPathComponent()
        let fm = FileManager.default
        for _ in 0..<8 {
            let git = dir.appendingPathComponent(".git")
            if let head = try? String(contentsOf: git.appendingPathComponent("HEAD"), encoding: .utf8) {
                let h = head.trimmingCharacters(in: .whitespacesAndNewlines)
                guard h.hasPrefix("ref: ") else { return String(h.prefix(12)) }
                let ref = String(h.dropFirst(5))
                if let c = try? String(contentsOf: git.appendingPathComponent(ref), encoding: .utf8) {
                    return String(c.trimmingCharacters(in: .whitespacesAndNewlines).prefix(12))
                }
                if let packed = try? String(contentsOf: git.appendingPathComponent("packed-refs"), encoding: .utf8) {
                    for line in packed.split(separator: "\n") where line.hasSuffix(" " + ref) { return String(line.prefix(12)) }
                }
                return nil
            }
            if !fm.fileExists(atPath: dir.path) || dir.path == "/" { break }
            dir.deleteLastPathComponent()
        }
        return nil
    }()
}
