import Support

/// A request the server refuses: OpenEnv's error codes (and gtr's own for limits), a one-line message in gtr's
/// words, and the HTTP status used when the request came over plain HTTP.
public struct ServeError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Code: String, Sendable, CaseIterable {
        case invalidJSON = "INVALID_JSON"
        case unknownType = "UNKNOWN_TYPE"
        case validation = "VALIDATION_ERROR"
        case execution = "EXECUTION_ERROR"
        case capacity = "CAPACITY_REACHED"
        case session = "SESSION_ERROR"
        case tooLarge = "MESSAGE_TOO_LARGE"
        case rateLimited = "RATE_LIMITED"
        case unauthorized = "UNAUTHORIZED"
        case notFound = "NOT_FOUND"

        var httpStatus: Int {
            switch self {
            case .invalidJSON, .unknownType, .validation: return 400
            case .execution: return 409
            case .capacity: return 503
            case .session, .notFound: return 404
            case .tooLarge: return 413
            case .rateLimited: return 429
            case .unauthorized: return 401
            }
        }
    }

    public var code: Code
    public var message: String

    /// Messages are kept to one line of at most 300 characters (they may quote a client's input).
    public init(_ code: Code, _ message: String) {
        self.code = code
        let line = String(message.map { $0.isNewline || $0 == "\t" ? " " : $0 })
        self.message = line.count > 300 ? String(line.prefix(297)) + "..." : line
    }

    public var description: String { "\(code.rawValue): \(message)" }

    /// The WebSocket reply: `{"type": "error", "data": {"message", "code"}}`.
    public var reply: JSONValue {
        .object([("type", .string("error")), ("data", body)])
    }

    var body: JSONValue { .object([("message", .string(message)), ("code", .string(code.rawValue))]) }
}
