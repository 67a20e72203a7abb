import Synchronization

/// Requests answered, by route template, method and status, and their latency by route
/// and method, for `/metrics`. Route templates and methods come from closed sets (an
/// unknown method is folded into `OTHER`), so no client can grow the maps.
final class RequestMetrics: Sendable {
    struct Key: Hashable {
        var route: String
        var method: String
        var status: Int
    }

    struct LatencyKey: Hashable, Comparable {
        var route: String
        var method: String

        static func < (a: LatencyKey, b: LatencyKey) -> Bool { (a.route, a.method) < (b.route, b.method) }
    }

    struct Snapshot {
        var counts: [Key: UInt64]
        var latency: [LatencyKey: Histogram]
    }

    private let state = Mutex(Snapshot(counts: [:], latency: [:]))

    /// The method as counted: one of the seven the API knows, else `OTHER`. Compared,
    /// not hashed: every request is counted.
    static func countedMethod(_ method: String) -> String {
        switch method {
        case "POST", "GET", "HEAD", "PATCH", "DELETE", "PUT", "OPTIONS": method
        default: "OTHER"
        }
    }

    /// Counts one answered request that took `seconds` from its arrival to its answer.
    func record(route: String, method: String, status: Int, seconds: Double) {
        let known = Self.countedMethod(method)
        state.withLock { s in
            s.counts[Key(route: route, method: known, status: status), default: 0] += 1
            s.latency[LatencyKey(route: route, method: known), default: Histogram(bounds: Histogram.latencyBounds)]
                .observe(seconds)
        }
    }

    var snapshot: Snapshot { state.withLock { $0 } }
}
