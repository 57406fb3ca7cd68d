import Environments
import Foundation
import Support

/// What a `reset` asks for: the env (by registry name; `household` is the ALFWorld engine), the seed, whether
/// observations carry the frame, and the env's own reset options as the REPL's `key=value` strings.
struct ResetRequest: Equatable {
    var env: String?
    var seed: UInt64?
    var frames: Bool?
    var options: [String: String] = [:]

    /// Keys that are not env options: OpenEnv's `episode_id` (accepted, unused) and the HTTP session id.
    static let reserved: Set<String> = ["env", "seed", "frames", "episode_id", "session_id"]

    static func parse(_ data: JSONValue?) throws(ServeError) -> ResetRequest {
        var r = ResetRequest()
        guard let data, data != .null else { return r }
        guard case let .object(pairs) = data else { throw ServeError(.validation, "reset data must be an object of reset options") }
        for (k, v) in pairs {
            switch k {
            case "env":
                guard let s = v.stringValue, !s.isEmpty else { throw ServeError(.validation, "env must be a name, e.g. \"points24\"") }
                r.env = canonical(s)
            case "seed":
                if v == .null { continue }
                r.seed = try seed(v)
            case "frames":
                guard case let .bool(b) = v else { throw ServeError(.validation, "frames must be true or false") }
                r.frames = b
            case "episode_id", "session_id":
                continue
            default:
                guard !k.isEmpty, k.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
                    throw ServeError(.validation, "option names are words such as max_steps, not '\(k.prefix(40))'")
                }
                if v == .null { continue }
                r.options[k] = try optionText(k, v)
            }
        }
        return r
    }

    /// `household` (and `alfworld`) name the native household engine; gym-cards spellings are accepted too.
    static func canonical(_ name: String) -> String {
        let n = name.lowercased()
        return n == "household" ? "alfworld" : n
    }

    static func seed(_ v: JSONValue) throws(ServeError) -> UInt64 {
        switch v {
        case let .number(n) where n >= 0 && n <= 9_007_199_254_740_992 && n == n.rounded():
            return UInt64(n)
        case let .string(s) where UInt64(s) != nil:
            return UInt64(s)!
        default:
            throw ServeError(.validation, "seed must be a non-negative integer, not \(v.serialized().prefix(40))")
        }
    }

    /// An option's value as the REPL writes it: numbers without a fraction when integral, lists joined by commas.
    static func optionText(_ key: String, _ v: JSONValue) throws(ServeError) -> String {
        func scalar(_ x: JSONValue) -> String? {
            switch x {
            case let .string(s): return s
            case let .bool(b): return b ? "true" : "false"
            case let .number(n): return n == n.rounded() && abs(n) < 1e15 ? String(Int64(n)) : String(n)
            default: return nil
            }
        }
        if let s = scalar(v) {
            guard !s.contains(where: \.isNewline) else { throw ServeError(.validation, "\(key) must fit on one line") }
            return s
        }
        if case let .array(items) = v {
            let parts = items.compactMap(scalar)
            if parts.count == items.count { return parts.joined(separator: ",") }
        }
        throw ServeError(.validation, "\(key) must be a string, number, boolean or a list of them")
    }

    /// The REPL arguments for `options` (sorted by key, each value quoted).
    static func commandText(seed: UInt64?, options: [String: String]) -> String {
        var s = seed.map { " seed=\($0)" } ?? ""
        for (k, v) in options.sorted(by: { $0.key < $1.key }) { s += " \(k)=" + CommandWord.quoted(v) }
        return s
    }
}
