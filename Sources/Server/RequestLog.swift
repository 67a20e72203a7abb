import Glibc
import HTTP
import JSON

/// One JSON line per request on stderr: time, method, route, status, duration, request
/// id, peer. Never a header value, a body or a secret.
struct RequestLog: Sendable {
    var enabled: Bool

    func record(
        _ request: HTTPRequest, route: String, status: Int, requestID: String, nowMicros: Int64, nowNanos: UInt64
    ) {
        guard enabled else { return }
        var w = JSONWriter(capacity: 200)
        w.beginObject()
        w.key("time")
        RFC3339.write(micros: nowMicros, into: &w)
        w.field("method", request.method.count <= 16 ? request.method : "?")
        w.field("route", route)
        w.field("status", Int64(status))
        w.field("durationMicros", Int64((nowNanos &- request.receivedAtNanos) / 1000))
        w.field("requestId", requestID)
        switch request.peer {
        case .tcp(let address): w.field("peer", address)
        case .unix(let pid, let uid): w.field("peer", "unix:pid=\(pid),uid=\(uid)")
        }
        w.endObject()
        var line = w.bytes
        line.append(UInt8(ascii: "\n"))
        // One write per line keeps lines whole when several threads log at once.
        _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    }
}
