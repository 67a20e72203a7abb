import Synchronization

/// Requests answered, by route template, method and status, for `/metrics`.
final class RequestMetrics: Sendable {
    struct Key: Hashable {
        var route: String
        var method: String
        var status: Int
    }

    private let counts = Mutex<[Key: UInt64]>([:])

    func record(route: String, method: String, status: Int) {
        // Methods outside the API's are folded into one label so a client cannot grow the map.
        let known = ["GET", "HEAD", "POST", "PATCH", "DELETE", "PUT", "OPTIONS"].contains(method) ? method : "OTHER"
        counts.withLock { $0[Key(route: route, method: known, status: status), default: 0] += 1 }
    }

    var snapshot: [Key: UInt64] { counts.withLock { $0 } }
}
