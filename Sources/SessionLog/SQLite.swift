import CSQLite
import Foundation

/// A failure from SQLite, with the library's message. `code` is the primary result code.
public struct SQLiteError: Error, CustomStringConvertible {
    public let code: Int32
    public let message: String
    public var description: String { message }
    public var isReadOnly: Bool { code == SQLITE_READONLY }
    public var isBusy: Bool { code == SQLITE_BUSY || code == SQLITE_LOCKED }
}

/// A value bound to or read from a statement.
public enum SQLValue: Equatable, Sendable, CustomStringConvertible {
    case null, int(Int64), real(Double), text(String)
    public var description: String {
        switch self {
        case .null: return "NULL"
        case let .int(i): return String(i)
        case let .real(d): return String(d)
        case let .text(s): return s
        }
    }
}

/// A thin connection wrapper over the C API: open, exec, prepared statements, transactions.
/// Not thread-safe: each connection belongs to one thread (the shell's).
public final class SQLiteConnection {
    private(set) var handle: OpaquePointer?
    public let path: String

    /// Library-wide settings, applied once before the first connection opens.
    private static let configured: Void = { _ = gtr_sqlite_disable_memstatus() }()

    public init(path: String, readOnly: Bool = false) throws {
        SQLiteConnection.configured
        self.path = path
        let flags = readOnly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)
        var db: OpaquePointer?
        let rc = sqlite3_open_v2(path, &db, flags | SQLITE_OPEN_NOMUTEX, nil)
        guard rc == SQLITE_OK, let db else {
            let msg = db.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
            sqlite3_close(db)
            throw SQLiteError(code: rc, message: "cannot open \(path): \(msg)")
        }
        handle = db
        sqlite3_extended_result_codes(db, 0)
    }

    deinit { close() }

    public func close() {
        if let h = handle { sqlite3_close_v2(h) }
        handle = nil
    }

    func error(_ rc: Int32, _ what: String) -> SQLiteError {
        let msg = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "closed"
        return SQLiteError(code: rc & 0xFF, message: "\(what): \(msg)")
    }

    public func exec(_ sql: String) throws {
        guard let h = handle else { throw SQLiteError(code: SQLITE_MISUSE, message: "database is closed") }
        var err: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(h, sql, nil, nil, &err)
        if rc != SQLITE_OK {
            let m = err.map { String(cString: $0) } ?? "error \(rc)"
            sqlite3_free(err)
            throw SQLiteError(code: rc & 0xFF, message: m)
        }
    }

    public func prepare(_ sql: String, persistent: Bool = false) throws -> SQLiteStatement {
        guard let h = handle else { throw SQLiteError(code: SQLITE_MISUSE, message: "database is closed") }
        var stmt: OpaquePointer?
        let rc = sqlite3_prepare_v3(h, sql, -1, persistent ? UInt32(SQLITE_PREPARE_PERSISTENT) : 0, &stmt, nil)
        guard rc == SQLITE_OK, let stmt else {
            sqlite3_finalize(stmt)
            throw error(rc, "SQL error")
        }
        return SQLiteStatement(stmt, connection: self)
    }

    /// Runs a query and returns its column names and rows.
    public func query(_ sql: String, _ args: [SQLValue] = []) throws -> (columns: [String], rows: [[SQLValue]]) {
        let s = try prepare(sql)
        try s.bind(args)
        var rows: [[SQLValue]] = []
        while try s.step() { rows.append(s.row()) }
        return (s.columnNames, rows)
    }

    public func scalarInt(_ sql: String) throws -> Int64 {
        let r = try query(sql)
        if case let .int(v)? = r.rows.first?.first { return v }
        return 0
    }

    public var lastInsertRowID: Int64 { handle.map { sqlite3_last_insert_rowid($0) } ?? 0 }

    public func transaction<T>(_ body: () throws -> T) throws -> T {
        try exec("BEGIN IMMEDIATE")
        do {
            let r = try body()
            try exec("COMMIT")
            return r
        } catch {
            try? exec("ROLLBACK")
            throw error
        }
    }
}

public final class SQLiteStatement {
    private var stmt: OpaquePointer?
    private unowned let connection: SQLiteConnection

    init(_ s: OpaquePointer, connection: SQLiteConnection) { stmt = s; self.connection = connection }
    deinit { sqlite3_finalize(stmt) }

    /// True when the statement cannot write (what `sql` requires).
    public var isReadOnly: Bool { sqlite3_stmt_readonly(stmt) != 0 }

    public func bind(_ values: [SQLValue]) throws {
        sqlite3_reset(stmt)
        sqlite3_clear_bindings(stmt)
        for (i, v) in values.enumerated() {
            let idx = Int32(i + 1)
            let rc: Int32
            switch v {
            case .null: rc = sqlite3_bind_null(stmt, idx)
            case let .int(x): rc = sqlite3_bind_int64(stmt, idx, x)
            case let .real(x): rc = sqlite3_bind_double(stmt, idx, x)
            case let .text(s): rc = sqlite3_bind_text(stmt, idx, s, -1, gtr_sqlite_transient())
            }
            if rc != SQLITE_OK { throw connection.error(rc, "bind") }
        }
    }

    /// Advances; true when a row is available.
    public func step() throws -> Bool {
        let rc = sqlite3_step(stmt)
        if rc == SQLITE_ROW { return true }
        if rc == SQLITE_DONE { return false }
        sqlite3_reset(stmt)
        throw connection.error(rc, "SQL error")
    }

    /// Binds `values` and steps to the end. Text is bound in place (no copy by SQLite): each string's bytes stay
    /// valid until the statement has run, because the steps happen inside the closures that lend them.
    public func run(_ values: [SQLValue]) throws {
        sqlite3_reset(stmt)
        sqlite3_clear_bindings(stmt)
        defer {
            // The lent bytes are gone after this call: no binding may outlive it.
            sqlite3_reset(stmt)
            sqlite3_clear_bindings(stmt)
        }
        try bindInPlace(values, from: 0)
    }

    private func bindInPlace(_ values: [SQLValue], from i: Int) throws {
        guard i < values.count else {
            while try step() {}
            return
        }
        let idx = Int32(i + 1)
        let rc: Int32
        switch values[i] {
        case .null: rc = sqlite3_bind_null(stmt, idx)
        case let .int(x): rc = sqlite3_bind_int64(stmt, idx, x)
        case let .real(x): rc = sqlite3_bind_double(stmt, idx, x)
        case var .text(s):
            // withUTF8 lends the string's own contiguous bytes; nil as the destructor is SQLITE_STATIC. The text ends at
            // its first NUL, as it always did when strings went to SQLite as C strings.
            try s.withUTF8 { (p: UnsafeBufferPointer<UInt8>) throws -> Void in
                let rc: Int32
                if let base = p.baseAddress {
                    let start = UnsafeRawPointer(base)
                    var n = p.count
                    if let nul = memchr(start, 0, p.count) { n = start.distance(to: UnsafeRawPointer(nul)) }
                    rc = sqlite3_bind_text(stmt, idx, start.assumingMemoryBound(to: CChar.self), Int32(n), nil)
                } else {
                    rc = sqlite3_bind_text(stmt, idx, "", 0, gtr_sqlite_transient())
                }
                if rc != SQLITE_OK { throw connection.error(rc, "bind") }
                try bindInPlace(values, from: i + 1)
            }
            return
        }
        if rc != SQLITE_OK { throw connection.error(rc, "bind") }
        try bindInPlace(values, from: i + 1)
    }

    public var columnNames: [String] {
        (0..<sqlite3_column_count(stmt)).map { String(cString: sqlite3_column_name(stmt, $0)) }
    }

    public func row() -> [SQLValue] {
        (0..<sqlite3_column_count(stmt)).map { i in
            switch sqlite3_column_type(stmt, i) {
            case SQLITE_INTEGER: return .int(sqlite3_column_int64(stmt, i))
            case SQLITE_FLOAT: return .real(sqlite3_column_double(stmt, i))
            case SQLITE_NULL: return .null
            default:
                guard let p = sqlite3_column_text(stmt, i) else { return .null }
                let n = Int(sqlite3_column_bytes(stmt, i))
                return .text(String(decoding: UnsafeBufferPointer(start: p, count: n), as: UTF8.self))
            }
        }
    }
}
