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

    /// The maps, and `POST /v1/verify` apart from them: counted per verification, it
    /// takes a short list of its statuses, searched in order, and its own histogram
    /// instead of hashing two strings twice (hot path, STYLE.md 12); ``snapshot`` puts
    /// it back among the others. A verification answers one of a handful of statuses.
    private struct State {
        var maps = Snapshot(counts: [:], latency: [:])
        var verifyCounts: [(status: Int, count: UInt64)] = []
        var verifyLatency = Histogram(bounds: Histogram.latencyBounds)
    }

    private let state = Mutex(State())

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
        if route == Self.verifyRoute && method == "POST" {
            state.withLock { s in
                if let i = s.verifyCounts.firstIndex(where: { $0.status == status }) {
                    s.verifyCounts[i].count += 1
                } else {
                    s.verifyCounts.append((status, 1))
                }
                s.verifyLatency.observe(seconds)
            }
            return
        }
        let known = Self.countedMethod(method)
        state.withLock { s in
            s.maps.counts[Key(route: route, method: known, status: status), default: 0] += 1
            s.maps.latency[
                LatencyKey(route: route, method: known), default: Histogram(bounds: Histogram.latencyBounds)
            ]
            .observe(seconds)
        }
    }

    static let verifyRoute = "/v1/verify"

    var snapshot: Snapshot {
        let s = state.withLock { $0 }
        var snapshot = s.maps
        for (status, count) in s.verifyCounts {
            snapshot.counts[Key(route: Self.verifyRoute, method: "POST", status: status)] = count
        }
        if s.verifyLatency.count > 0 {
            snapshot.latency[LatencyKey(route: Self.verifyRoute, method: "POST")] = s.verifyLatency
        }
        return snapshot
    }
}
