import Foundation
import Serving

// gtr-serve key=value...: the environment server (also `gtr serve ...`). Prints one line when it listens.
let args = Array(CommandLine.arguments.dropFirst())
if args.first == "help" || args.first == "--help" || args.first == "-h" {
    FileHandle.standardOutput.write(Data(ServeConfig.usage.utf8))
    exit(0)
}
let config: ServeConfig
do { config = try ServeConfig.parse(args, environment: ProcessInfo.processInfo.environment) } catch {
    FileHandle.standardError.write(Data("gtr serve: \(error)\n".utf8))
    exit(2)
}
let server = EnvironmentServer(config: config)
do {
    try await server.run { host, port in
        let line = "gtr serve: listening on http://\(host.contains(":") ? "[\(host)]" : host):\(port)" +
            (config.log ? " (session log \(config.databasePath))" : " (log=off)")
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }
} catch {
    FileHandle.standardError.write(Data("gtr serve: \(error)\n".utf8))
    exit(1)
}
