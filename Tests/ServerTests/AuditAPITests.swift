import Foundation
import Ledger
import Testing

@Test func logsAuditStateAndUsageOverHTTP() throws {
    let f = try ServerFixture()
    let (id, secret) = try f.createKey(#"{"owner":"org_42","name":"gw","scopes":["read"]}"#)
    let (otherID, _) = try f.createKey(#"{"owner":"org_7","name":"other"}"#)
    let c = try f.client()
    for i in 0..<5 {
        _ = try c.call(
            "POST", "/v1/verify",
            json: #"{"key":"\#(secret)","scope":"\#(i == 4 ? "write" : "read")","ip":"198.51.100.\#(i)"}"#)
    }
    let suspended = try c.call("POST", "/v1/keys/\(id)/suspend", headers: f.auth)
    // Read your write: the logs include the suspension's seq.
    let seq = suspended.headers["x-ledger-seq"] ?? ""

    let logs = try c.call("GET", "/v1/keys/\(id)/logs?limit=3&minSeq=\(seq)", headers: f.auth)
    #expect(logs.status == 200 && logs.list.count == 3)
    #expect(logs.list.map { $0["type"] as? String } == ["key.suspended", "key.accessed", "key.accessed"])
    let cursor = try #require(logs.json["nextCursor"] as? String)
    let rest = try c.call("GET", "/v1/keys/\(id)/logs?limit=10&cursor=\(cursor)", headers: f.auth)
    #expect(rest.list.count == 4 && rest.json["nextCursor"] is NSNull)
    #expect(rest.list.last?["type"] as? String == "key.created")
    let accessed = try c.call("GET", "/v1/keys/\(id)/logs?eventTypes=key.accessed", headers: f.auth)
    #expect(accessed.list.count == 5)
    #expect((accessed.list.first?["data"] as? [String: Any])?["code"] as? String == "INSUFFICIENT_SCOPE")

    let byIP = try c.call("GET", "/v1/audit?ip=198.51.100.2", headers: f.auth)
    #expect(byIP.list.count == 1 && byIP.list.first?["ip"] as? String == "198.51.100.2")
    let byOwner = try c.call("GET", "/v1/audit?owner=org_7", headers: f.auth)
    #expect(byOwner.list.map { $0["keyId"] as? String } == [otherID])
    let byActor = try c.call("GET", "/v1/audit?actor=\(id)&eventTypes=key.accessed", headers: f.auth)
    #expect(byActor.list.count == 5)
    #expect(try c.call("GET", "/v1/audit?eventTypes=key.bogus", headers: f.auth).status == 400)
    #expect(
        try c.call("GET", "/v1/audit?start=2026-01-02T00:00:00Z&end=2026-01-01T00:00:00Z", headers: f.auth).status
            == 400)

    let state = try c.call("GET", "/v1/keys/\(id)/state?at=1", headers: f.auth)
    #expect(state.status == 200 && state.data["status"] as? String == "active" && state.data["version"] as? Int == 1)
    #expect(try c.call("GET", "/v1/keys/\(otherID)/state?at=1", headers: f.auth).status == 404)
    #expect(try c.call("GET", "/v1/keys/\(id)/state", headers: f.auth).status == 400)

    let now = Date()
    let iso = ISO8601DateFormatter()
    let start = iso.string(from: now.addingTimeInterval(-7200))
    let end = iso.string(from: now.addingTimeInterval(3600))
    let usage = try c.call("GET", "/v1/keys/\(id)/usage?start=\(start)&end=\(end)&granularity=hour", headers: f.auth)
    #expect(usage.status == 200)
    let totals = usage.data["totals"] as? [String: Any]
    #expect(totals?["requests"] as? Int == 5 && totals?["errors"] as? Int == 1)
    // Percentiles in ms from the recorded latencies: ordered, and p99 is the slowest.
    let latency = try #require(totals?["latency"] as? [String: Double])
    let p50 = try #require(latency["p50"])
    let p99 = try #require(latency["p99"])
    let max = try #require(latency["max"])
    #expect(p50 <= p99 && p99 == max && max > 0)
    #expect((usage.data["buckets"] as? [[String: Any]])?.count ?? 0 >= 3)
    let tooMany = try c.call(
        "GET", "/v1/keys/\(id)/usage?start=2000-01-01T00:00:00Z&end=\(end)&granularity=minute", headers: f.auth)
    #expect(tooMany.status == 400 && tooMany.errorCode == "INVALID_REQUEST")
}

@Test func anAuditKeyReadsOnlyItsOwnerAndItsReadsAreRecorded() throws {
    let f = try ServerFixture()
    let (_, auditor) = try f.createKey(#"{"owner":"org_a","name":"auditor","scopes":["ledger:audit"]}"#)
    let (mineID, _) = try f.createKey(#"{"owner":"org_a","name":"mine"}"#)
    let (theirsID, _) = try f.createKey(#"{"owner":"org_b","name":"theirs"}"#)
    let c = try f.client()
    let key = ["X-API-Key": auditor]
    let before = f.eventCount
    let audit = try c.call("GET", "/v1/audit", headers: key)
    #expect(audit.status == 200 && audit.list.allSatisfy { $0["owner"] as? String == "org_a" })
    #expect(f.eventCount == before + 1)
    #expect(try c.call("GET", "/v1/keys/\(mineID)/logs", headers: key).status == 200)
    let after = f.eventCount
    #expect(try c.call("GET", "/v1/keys/\(theirsID)/logs", headers: key).status == 403)
    #expect(try c.call("GET", "/v1/audit?owner=org_b", headers: key).status == 403)
    #expect(try c.call("POST", "/v1/keys", json: #"{"owner":"org_a","name":"x"}"#, headers: key).status == 403)
    #expect(try f.records(after: after) == Array(repeating: "key.accessed 403", count: 3))
}

@Test func eventsLongPollWakesOnACommitAndMetricsCountIt() throws {
    let f = try ServerFixture()
    let head = f.eventCount
    let started = Date()
    let poller = try f.client()
    poller.send(RawClient.request("GET", "/v1/events?after=\(head)&wait=10", headers: f.auth))
    Thread.sleep(forTimeInterval: 0.3)
    _ = try f.createKey()
    let woke = try poller.read()
    #expect(woke.list.count == 1 && woke.list.first?["type"] as? String == "key.created")
    #expect(Date().timeIntervalSince(started) < 5)
    // The first poll's own record (appended before its answer) is the newest event.
    let empty = try poller.call("GET", "/v1/events?after=\(f.eventCount)&wait=1", headers: f.auth)
    #expect(empty.status == 200 && empty.list.isEmpty)

    let metrics = try f.client().call("GET", "/metrics", headers: f.auth)
    let text = String(decoding: metrics.body, as: UTF8.self)
    #expect(metrics.status == 200 && metrics.headers["content-type"]?.hasPrefix("text/plain") == true)
    #expect(text.contains("keyledger_events_appended_total \(f.eventCount)"))
    #expect(text.contains(#"keyledger_http_requests_total{route="/v1/keys",method="POST",status="201"} 1"#))
    #expect(text.contains("keyledger_writer_batch_size_count"))
    #expect(text.contains(#"keyledger_projection_lag_events{projection="audit"} 0"#))
    #expect(try f.client().call("GET", "/metrics").status == 401)
}
