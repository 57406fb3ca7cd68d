import Foundation

/// The server's open sessions by id, with the session cap and the idle sweep. Ids are 16 random hex digits
/// (an HTTP client names its session by id, so ids are not guessable).
final class SessionTable: @unchecked Sendable {
    private let lock = NSLock()
    private var sessions: [String: ServedSession] = [:]
    private var opened: UInt64 = 0
    let config: ServeConfig

    init(config: ServeConfig) { self.config = config }

    var count: Int { lock.lock(); defer { lock.unlock() }; return sessions.count }
    var totalOpened: UInt64 { lock.lock(); defer { lock.unlock() }; return opened }

    /// A new session, or CAPACITY_REACHED when `max_sessions` are open.
    func open(client: String, peer: String, transport: String) throws(ServeError) -> ServedSession {
        lock.lock()
        guard sessions.count < config.maxSessions else {
            lock.unlock()
            throw ServeError(.capacity, "the server has its maximum of \(config.maxSessions) sessions open: close one or try later")
        }
        var rng = SystemRandomNumberGenerator()
        var id: String
        repeat { id = String(format: "%016llx", rng.next() as UInt64) } while sessions[id] != nil
        opened += 1
        let seed = opened
        lock.unlock()
        // The session's log is opened outside the table's lock (it touches the database).
        let s = ServedSession(id: id, client: client, peer: peer, transport: transport, config: config, seed: seed)
        lock.lock(); sessions[id] = s; lock.unlock()
        return s
    }

    func get(_ id: String) throws(ServeError) -> ServedSession {
        lock.lock(); defer { lock.unlock() }
        guard let s = sessions[id] else { throw ServeError(.session, "no session \(id.prefix(40)) (closed, timed out or never opened): reset without session_id opens one") }
        return s
    }

    /// Removes and closes a session (its open episode is logged as abandoned).
    func close(_ s: ServedSession) {
        lock.lock(); sessions[s.id] = nil; lock.unlock()
        s.close()
    }

    /// Closes the sessions idle for longer than `idle_timeout`; WebSocket sessions close their sockets.
    func sweep() {
        guard config.idleTimeout > 0 else { return }
        lock.lock()
        let idle = sessions.values.filter { $0.idleSeconds > config.idleTimeout }
        for s in idle { sessions[s.id] = nil }
        lock.unlock()
        for s in idle {
            s.onServerClose?("idle for more than \(Int(config.idleTimeout)) s")
            s.close()
        }
    }

    func closeAll() {
        lock.lock(); let all = Array(sessions.values); sessions.removeAll(); lock.unlock()
        for s in all { s.close() }
    }
}
