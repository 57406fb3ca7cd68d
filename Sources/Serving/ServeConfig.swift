import Foundation

/// `gtr serve`'s settings. Each option is declared once, in `ServeConfig.options`: the parser, the validation
/// and the usage text all come from that table.
public struct ServeConfig: Sendable {
    public var host = "127.0.0.1"
    public var port = 8000
    /// The name of the environment variable holding the bearer token (the token itself never appears in an
    /// argument, a log row or an error message).
    public var tokenEnv: String?
    public var token: String?
    public var maxSessions = 256
    /// Seconds without a request after which a session is closed (0: never).
    public var idleTimeout = 600.0
    /// Log every served step to the session log (one gtr session per connection).
    public var log = true
    /// Largest request (a WebSocket message or an HTTP body), in bytes.
    public var maxMessageBytes = 1 << 20
    /// Requests per second per session, bursts up to the same number (0: no limit).
    public var rate = 2000.0
    /// `GTR_HOME` (the session log is `gtr.sqlite` in it).
    public var home: String
    /// The session log's path (default `home/gtr.sqlite`).
    public var database: String?

    public init(home: String) { self.home = home }

    public var databasePath: String { database ?? (home as NSString).appendingPathComponent("gtr.sqlite") }

    /// True for the loopback addresses, the only ones served without a token.
    public var isLoopback: Bool { ["127.0.0.1", "localhost", "::1"].contains(host) || host.hasPrefix("127.") }

    struct Option: Sendable {
        let name: String
        let placeholder: String
        let help: String
        let apply: @Sendable (inout ServeConfig, String) throws -> Void
    }

    static func number<T: LosslessStringConvertible & Comparable>(_ name: String, _ v: String, min: T, max: T) throws -> T {
        guard let x = T(v), x >= min, x <= max else {
            throw ServeConfigError("\(name)= takes a number from \(min) to \(max), not '\(v)'")
        }
        return x
    }

    static let options: [Option] = [
        Option(name: "host", placeholder: "ADDR", help: "address to bind (default 127.0.0.1; any other needs token_env=)") { c, v in
            guard !v.isEmpty, !v.contains(where: { $0.isWhitespace || $0 == "/" }) else { throw ServeConfigError("host= takes an address such as 127.0.0.1 or 0.0.0.0") }
            c.host = v
        },
        Option(name: "port", placeholder: "N", help: "TCP port (default 8000; 0 picks a free one, printed at start)") { c, v in
            c.port = try number("port", v, min: 0, max: 65535)
        },
        Option(name: "token_env", placeholder: "NAME", help: "environment variable holding the bearer token clients must send") { c, v in
            guard !v.isEmpty, v.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
                throw ServeConfigError("token_env= takes the name of an environment variable, e.g. token_env=GTR_SERVE_TOKEN")
            }
            c.tokenEnv = v
        },
        Option(name: "max_sessions", placeholder: "N", help: "most sessions open at once (default 256)") { c, v in
            c.maxSessions = try number("max_sessions", v, min: 1, max: 100_000)
        },
        Option(name: "idle_timeout", placeholder: "S", help: "close a session after S seconds without a request (default 600; 0 never)") { c, v in
            c.idleTimeout = try number("idle_timeout", v, min: 0.0, max: 86_400.0 * 30)
        },
        Option(name: "log", placeholder: "on|off", help: "log served steps to the session log, one session per connection (default on)") { c, v in
            guard v == "on" || v == "off" else { throw ServeConfigError("log= takes on or off, not '\(v)'") }
            c.log = v == "on"
        },
        Option(name: "max_message", placeholder: "BYTES", help: "largest request in bytes (default 1048576)") { c, v in
            c.maxMessageBytes = try number("max_message", v, min: 1024, max: 1 << 28)
        },
        Option(name: "rate", placeholder: "N", help: "requests per second per session, bursts up to N (default 2000; 0 no limit)") { c, v in
            c.rate = try number("rate", v, min: 0.0, max: 1e9)
        },
        Option(name: "home", placeholder: "DIR", help: "gtr's home (default $GTR_HOME, else ~/.gtr)") { c, v in
            guard !v.isEmpty else { throw ServeConfigError("home= takes a folder") }
            c.home = v
        },
        Option(name: "db", placeholder: "FILE", help: "session log file (default HOME/gtr.sqlite)") { c, v in
            guard !v.isEmpty else { throw ServeConfigError("db= takes a file path") }
            c.database = v
        },
    ]

    public static var usage: String {
        var s = "usage: gtr serve " + options.map { "[\($0.name)=\($0.placeholder)]" }.joined(separator: " ") + "\n"
        s += "Serves gtr's environments, oracle corrector and experts over OpenEnv's protocol (WebSocket /ws, HTTP /reset /step /state).\n"
        for o in options { s += "  " + "\(o.name)=\(o.placeholder)".padding(toLength: 20, withPad: " ", startingAt: 0) + o.help + "\n" }
        return s
    }

    /// Parses `key=value` arguments. The token is read from the named variable in `environment`; binding
    /// anywhere but loopback without one is refused.
    public static func parse(_ args: [String], environment: [String: String]) throws -> ServeConfig {
        let home = environment["GTR_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? (NSHomeDirectory() as NSString).appendingPathComponent(".gtr")
        var c = ServeConfig(home: home)
        var seen = Set<String>()
        for a in args {
            guard let eq = a.firstIndex(of: "="), eq != a.startIndex else {
                throw ServeConfigError("'\(a)' is not an option: options are key=value (gtr serve help lists them)")
            }
            let key = String(a[..<eq]), value = String(a[a.index(after: eq)...])
            guard let o = options.first(where: { $0.name == key }) else {
                throw ServeConfigError("unknown option \(key)= (options: \(options.map { $0.name + "=" }.joined(separator: " ")))")
            }
            guard seen.insert(key).inserted else { throw ServeConfigError("\(key)= given twice") }
            try o.apply(&c, value)
        }
        if let name = c.tokenEnv {
            guard let t = environment[name], !t.isEmpty else { throw ServeConfigError("token_env=\(name): $\(name) is not set or empty") }
            guard t.utf8.count >= 16 else { throw ServeConfigError("the token in $\(name) is too short: use at least 16 characters") }
            c.token = t
        }
        if !c.isLoopback, c.token == nil {
            throw ServeConfigError("binding to \(c.host) exposes the server beyond this machine: give a token with token_env=NAME (clients send Authorization: Bearer TOKEN)")
        }
        return c
    }
}

public struct ServeConfigError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ d: String) { description = d }
}
