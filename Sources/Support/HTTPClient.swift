import CCurl
import Foundation

/// A reply as libcurl delivered it.
public struct HTTPResponse: Sendable {
    public var status: Int
    /// Header names lower-cased; the last value wins.
    public var headers: [String: String]
    public var body: [UInt8]
    public var text: String { String(decoding: body, as: UTF8.self) }
}

/// Transport failures, each one line. Nothing here ever contains request headers (where the API key lives).
public enum HTTPError: Error, CustomStringConvertible, Equatable {
    case timeout(String)
    case connect(String)
    case bodyTooLarge(limit: Int)
    case cancelled
    case transport(String)

    public var description: String {
        switch self {
        case let .timeout(m): return "timed out (\(m))"
        case let .connect(m): return "cannot connect (\(m))"
        case let .bodyTooLarge(limit): return "reply larger than \(limit / 1_048_576) MiB, aborted"
        case .cancelled: return "cancelled"
        case let .transport(m): return m
        }
    }

    /// Worth retrying (the server may answer next time).
    public var transient: Bool {
        switch self { case .timeout, .connect, .transport: return true; case .bodyTooLarge, .cancelled: return false }
    }
}

/// A minimal blocking HTTP POST over libcurl's easy interface: one handle per call, so calls on different threads
/// are independent. Bounded reply size, connect and total timeouts, and a cancel hook polled during transfers.
public enum HTTPClient {
    private static let globalInit: Bool = { curl_global_init(Int(CURL_GLOBAL_DEFAULT)) == CURLE_OK }()

    final class Sink {
        var body: [UInt8] = []
        var headers: [String: String] = [:]
        var limit: Int
        var overflow = false
        var cancel: (@Sendable () -> Bool)?
        init(limit: Int, cancel: (@Sendable () -> Bool)?) { self.limit = limit; self.cancel = cancel }
    }

    public static func post(url: String, headers: [String], body: [UInt8], connectTimeout: Double, totalTimeout: Double,
                            maxBody: Int = 8 << 20, cancel: (@Sendable () -> Bool)? = nil) throws -> HTTPResponse {
        guard globalInit, let h = curl_easy_init() else { throw HTTPError.transport("libcurl could not be initialised") }
        defer { curl_easy_cleanup(h) }
        let sink = Sink(limit: maxBody, cancel: cancel)
        let ud = Unmanaged.passUnretained(sink).toOpaque()
        var list: UnsafeMutablePointer<curl_slist>?
        for line in headers { list = curl_slist_append(list, line) }
        defer { curl_slist_free_all(list) }

        _ = url.withCString { gtr_curl_setopt_ptr(h, CURLOPT_URL, $0) }
        _ = gtr_curl_setopt_long(h, CURLOPT_NOSIGNAL, 1)
        _ = gtr_curl_setopt_long(h, CURLOPT_POST, 1)
        _ = gtr_curl_setopt_long(h, CURLOPT_POSTFIELDSIZE_LARGE, body.count)
        _ = body.withUnsafeBytes { gtr_curl_setopt_ptr(h, CURLOPT_COPYPOSTFIELDS, $0.baseAddress) }
        _ = gtr_curl_setopt_ptr(h, CURLOPT_HTTPHEADER, list)
        _ = gtr_curl_setopt_long(h, CURLOPT_CONNECTTIMEOUT_MS, max(1, Int(connectTimeout * 1000)))
        _ = gtr_curl_setopt_long(h, CURLOPT_TIMEOUT_MS, max(1, Int(totalTimeout * 1000)))
        _ = gtr_curl_setopt_long(h, CURLOPT_FOLLOWLOCATION, 0)
        _ = gtr_curl_setopt_write(h, CURLOPT_WRITEFUNCTION) { ptr, size, n, ud in
            let s = Unmanaged<Sink>.fromOpaque(ud!).takeUnretainedValue()
            let count = size * n
            if s.body.count + count > s.limit { s.overflow = true; return 0 }
            ptr!.withMemoryRebound(to: UInt8.self, capacity: count) { s.body.append(contentsOf: UnsafeBufferPointer(start: $0, count: count)) }
            return count
        }
        _ = gtr_curl_setopt_ptr(h, CURLOPT_WRITEDATA, ud)
        _ = gtr_curl_setopt_write(h, CURLOPT_HEADERFUNCTION) { ptr, size, n, ud in
            let s = Unmanaged<Sink>.fromOpaque(ud!).takeUnretainedValue()
            let count = size * n
            let line = ptr!.withMemoryRebound(to: UInt8.self, capacity: count) { String(decoding: UnsafeBufferPointer(start: $0, count: count), as: UTF8.self) }
            if line.hasPrefix("HTTP/") { s.headers.removeAll() }   // a new response (after 100-continue)
            if let colon = line.firstIndex(of: ":") {
                let k = line[..<colon].lowercased().trimmingCharacters(in: .whitespaces)
                s.headers[k] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines)
            }
            return count
        }
        _ = gtr_curl_setopt_ptr(h, CURLOPT_HEADERDATA, ud)
        if cancel != nil {
            _ = gtr_curl_setopt_long(h, CURLOPT_NOPROGRESS, 0)
            _ = gtr_curl_setopt_xferinfo(h) { ud, _, _, _, _ in
                let s = Unmanaged<Sink>.fromOpaque(ud!).takeUnretainedValue()
                return (s.cancel?() ?? false) ? 1 : 0
            }
            _ = gtr_curl_setopt_ptr(h, CURLOPT_XFERINFODATA, ud)
        }

        let rc = curl_easy_perform(h)
        if sink.overflow { throw HTTPError.bodyTooLarge(limit: maxBody) }
        switch rc {
        case CURLE_OK: break
        case CURLE_OPERATION_TIMEDOUT: throw HTTPError.timeout(String(cString: curl_easy_strerror(rc)))
        case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY:
            throw HTTPError.connect(String(cString: curl_easy_strerror(rc)))
        case CURLE_ABORTED_BY_CALLBACK: throw HTTPError.cancelled
        default: throw HTTPError.transport(String(cString: curl_easy_strerror(rc)))
        }
        var status = 0
        _ = gtr_curl_getinfo_long(h, CURLINFO_RESPONSE_CODE, &status)
        return HTTPResponse(status: status, headers: sink.headers, body: sink.body)
    }
}
