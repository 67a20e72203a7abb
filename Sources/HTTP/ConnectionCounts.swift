import Synchronization

/// The open connections of a server, counted against its caps: TCP ones in all and per
/// client address, Unix socket ones apart, so that no number of TCP clients can take the
/// capacity local administration needs.
///
/// Shared by every event loop; thread-safe. Each connection is counted once by a
/// successful `admit` and uncounted once by `release` when it is closed.
final class ConnectionCounts: Sendable {
    private let limits: ConnectionLimits
    private let tcp = Atomic<Int>(0)
    private let unix = Atomic<Int>(0)
    /// Open TCP connections by client address; an address with none has no entry.
    private let byAddress = Mutex<[String: Int]>([:])

    init(limits: ConnectionLimits) {
        self.limits = limits
    }

    /// Open connections of both kinds, lingering ones included.
    var total: Int {
        tcp.load(ordering: .relaxed) + unix.load(ordering: .relaxed)
    }

    /// Counts a new connection from `peer` when its caps allow it.
    ///
    /// - Returns: `nil` when the connection is counted (release it when it closes), else
    ///   the 503 to answer it with, the connection not counted.
    func admit(_ peer: HTTPPeer) -> HTTPProtocolError? {
        switch peer {
        case .unix:
            guard unix.add(1, ordering: .relaxed).newValue <= limits.maxSocketConnections else {
                unix.subtract(1, ordering: .relaxed)
                return .tooManyConnections
            }
            return nil
        case .tcp(let address):
            guard tcp.add(1, ordering: .relaxed).newValue <= limits.maxConnections else {
                tcp.subtract(1, ordering: .relaxed)
                return .tooManyConnections
            }
            let cap = limits.maxConnectionsPerAddress
            let admitted = byAddress.withLock { counts in
                let open = counts[address, default: 0]
                guard open < cap else { return false }
                counts[address] = open + 1
                return true
            }
            guard admitted else {
                tcp.subtract(1, ordering: .relaxed)
                return .tooManyConnectionsFromAddress
            }
            return nil
        }
    }

    /// Uncounts a connection that `admit` counted.
    func release(_ peer: HTTPPeer) {
        switch peer {
        case .unix:
            unix.subtract(1, ordering: .relaxed)
        case .tcp(let address):
            tcp.subtract(1, ordering: .relaxed)
            byAddress.withLock { counts in
                let open = counts[address, default: 1] - 1
                counts[address] = open > 0 ? open : nil
            }
        }
    }
}
