#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Support

/// One request as the server read it.
public struct ReceivedRequest: Sendable {
    public var method: String
    public var path: String
    /// Header names lower-cased.
    public var headers: [String: String]
    public var body: [UInt8]
    public var text: String { String(decoding: body, as: UTF8.self) }
}

/// What the server does with one request.
public struct ScriptedResponse: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: [UInt8]
    /// Seconds to wait before answering (timeouts).
    public var delay: Double
    public init(status: Int = 200, headers: [(String, String)] = [("Content-Type", "application/json")], body: [UInt8], delay: Double = 0) {
        self.status = status; self.headers = headers; self.body = body; self.delay = delay
    }
    public init(status: Int = 200, headers: [(String, String)] = [("Content-Type", "application/json")], text: String, delay: Double = 0) {
        self.init(status: status, headers: headers, body: Array(text.utf8), delay: delay)
    }
}

/// A small HTTP/1.1 server bound to 127.0.0.1 on a free port: one thread per connection, one request per
/// connection (`Connection: close`), answers from a handler. It is what the chat-corrector tests and benchmarks
/// talk to, since no real endpoint is reachable.
public final class LoopbackServer: @unchecked Sendable {
    public private(set) var port: UInt16 = 0
    private let fd: Int32
    private let handler: @Sendable (ReceivedRequest, Int) -> ScriptedResponse
    private let lock = NSLock()
    private var received: [ReceivedRequest] = []
    private var stopped = false

    /// - Parameter handler: gets the request and its 0-based index among all requests so far.
    public init(handler: @escaping @Sendable (ReceivedRequest, Int) -> ScriptedResponse) throws {
        self.handler = handler
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EMFILE) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard rc == 0, listen(fd, 64) == 0 else { close(fd); throw POSIXError(.EADDRINUSE) }
        var bound = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &bound) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        port = UInt16(bigEndian: bound.sin_port)
        let t = Thread { [self] in acceptLoop() }
        t.start()
    }

    public var baseURL: String { "http://127.0.0.1:\(port)/v1" }

    public var requests: [ReceivedRequest] { lock.lock(); defer { lock.unlock() }; return received }

    public func stop() {
        lock.lock(); stopped = true; lock.unlock()
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
    }

    deinit { if !stopped { stop() } }

    private func acceptLoop() {
        while true {
            let c = accept(fd, nil, nil)
            if c < 0 {
                lock.lock(); let s = stopped; lock.unlock()
                if s || (errno != EINTR && errno != ECONNABORTED) { return }
                continue
            }
            let t = Thread { [self] in serve(c) }
            t.start()
        }
    }

    private func serve(_ c: Int32) {
        defer { close(c) }
        var buf = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 65536)
        var headerEnd: Int?
        while headerEnd == nil {
            let n = recv(c, &chunk, chunk.count, 0)
            if n <= 0 { return }
            buf.append(contentsOf: chunk[0..<n])
            headerEnd = LoopbackServer.find(Array("\r\n\r\n".utf8), in: buf)
        }
        let head = String(decoding: buf[0..<headerEnd!], as: UTF8.self)
        var lines = head.components(separatedBy: "\r\n")
        let requestLine = lines.removeFirst().split(separator: " ")
        var headers: [String: String] = [:]
        for l in lines {
            guard let colon = l.firstIndex(of: ":") else { continue }
            headers[l[..<colon].lowercased()] = l[l.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let length = Int(headers["content-length"] ?? "0") ?? 0
        var body = Array(buf[(headerEnd! + 4)...])
        while body.count < length {
            let n = recv(c, &chunk, chunk.count, 0)
            if n <= 0 { return }
            body.append(contentsOf: chunk[0..<n])
        }
        let req = ReceivedRequest(method: requestLine.first.map(String.init) ?? "", path: requestLine.count > 1 ? String(requestLine[1]) : "",
                                  headers: headers, body: body)
        lock.lock(); let index = received.count; received.append(req); lock.unlock()
        let r = handler(req, index)
        if r.delay > 0 { Thread.sleep(forTimeInterval: r.delay) }
        var out = "HTTP/1.1 \(r.status) \(r.status == 200 ? "OK" : "Status")\r\n"
        for (k, v) in r.headers { out += "\(k): \(v)\r\n" }
        out += "Content-Length: \(r.body.count)\r\nConnection: close\r\n\r\n"
        let bytes = Array(out.utf8) + r.body
        let total = bytes.count
        var sent = 0
        while sent < total {
            let n = bytes.withUnsafeBytes { send(c, $0.baseAddress! + sent, total - sent, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            sent += n
        }
    }

    static func find(_ needle: [UInt8], in hay: [UInt8]) -> Int? {
        guard hay.count >= needle.count else { return nil }
        for i in 0...(hay.count - needle.count) where hay[i] == needle[0] && Array(hay[i..<i + needle.count]) == needle { return i }
        return nil
    }
}

/// An OpenAI-style chat-completions reply with `content` as the assistant message.
public func chatReply(content: String, promptTokens: Int = 100, completionTokens: Int = 50) -> String {
    let escaped = JSONValue.string(content).serialized()
    return "{\"id\":\"x\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\(escaped)},"
        + "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":\(promptTokens),\"completion_tokens\":\(completionTokens)}}"
}

/// A chat reply that calls the solver tool.
public func toolCallReply(cards: [String], id: String = "call_1") -> String {
    let args = "{" + cards.enumerated().map { "\\\"card\($0.offset + 1)\\\":\\\"\($0.element)\\\"" }.joined(separator: ",") + "}"
    return "{\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"\(id)\",\"type\":\"function\","
        + "\"function\":{\"name\":\"find_all_correct_formulas\",\"arguments\":\"\(args)\"}}]},\"finish_reason\":\"tool_calls\"}],"
        + "\"usage\":{\"prompt_tokens\":80,\"completion_tokens\":20}}"
}
