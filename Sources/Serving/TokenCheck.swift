import Foundation

/// The bearer token check: constant time in the candidate's content (every byte of the longer input is visited
/// whatever matches), so response timing tells an attacker nothing about a prefix. The token is never logged.
struct TokenCheck: Sendable {
    private let expected: [UInt8]

    init(token: String) { expected = Array(token.utf8) }

    func accepts(_ candidate: String?) -> Bool {
        let given = Array((candidate ?? "").utf8)
        var diff = given.count ^ expected.count
        let n = max(given.count, expected.count)
        for i in 0..<n {
            let a = i < given.count ? given[i] : 0
            let b = i < expected.count ? expected[i] : 0
            diff |= Int(a ^ b)
        }
        return diff == 0 && !expected.isEmpty
    }

    /// The token of an `Authorization: Bearer T` header (scheme case-insensitive).
    static func bearer(_ header: String?) -> String? {
        guard let h = header?.trimmingCharacters(in: .whitespaces) else { return nil }
        let parts = h.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        return parts[1].trimmingCharacters(in: .whitespaces)
    }
}
