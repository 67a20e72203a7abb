import HTTP
import Logging

/// One log line per request on stderr (message `request`): time, method, route, status,
/// duration, request id, peer. Never a header value, a body or a secret.
struct RequestLog: Sendable {
    var enabled: Bool

    func record(
        _ request: AnsweredRequest, route: String, status: Int, requestID: String, nowMicros: Int64, nowNanos: UInt64
    ) {
        guard enabled else { return }
        var line = LogLine(.info, "request", timeMicros: nowMicros)
        line.field("method", request.method.count <= 16 ? request.method : "?")
        line.field("route", route)
        line.field("status", Int64(status))
        line.field("durationMicros", Int64((nowNanos &- request.receivedAtNanos) / 1000))
        line.field("requestId", requestID)
        switch request.peer {
        case .tcp(let address): line.field("peer", address)
        case .unix(let pid, let uid): line.field("peer", "unix:pid=\(pid),uid=\(uid)")
        }
        line.write()
    }
}

/// What an answer's completion (``APIResponder/complete(_:_:route:requestID:seq:ledger:metrics:log:)``)
/// needs of its request, for the metrics and the log: carried to the answer instead of the
/// whole request, whose headers and body are then released once it is read (hot path,
/// STYLE.md 12: each copy of a request retains and releases all of its parts).
struct AnsweredRequest: Sendable {
    let method: String
    let peer: HTTPPeer
    /// When its head was complete (``HTTPRequest/receivedAtNanos``).
    let receivedAtNanos: UInt64

    init(_ request: HTTPRequest) {
        method = request.method
        peer = request.peer
        receivedAtNanos = request.receivedAtNanos
    }
}
