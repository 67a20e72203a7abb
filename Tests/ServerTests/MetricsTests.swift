import Foundation
import Ledger
import Testing

@testable import Server

/// A label value can hold any text; escaped as the exposition format says, it stays one
/// label of one sample line.
@Test(arguments: [
    (#"plain"#, #"plain"#),
    (#"a"b"#, #"a\"b"#),
    (#"back\slash"#, #"back\\slash"#),
    ("two\nlines", #"two\nlines"#),
    (#"\"#, #"\\"#),
])
func labelValuesAreEscaped(raw: String, escaped: String) {
    var p = PrometheusText()
    p.sample("m", [("l", raw)], UInt64(1))
    #expect(p.text == "m{l=\"\(escaped)\"} 1\n")
}

/// `/metrics` over HTTP: every sample line is well formed, and the families an operator
/// alerts on are there (request latency by route, decisions by code, build and process).
@Test func metricsExposeLatencyDecisionsBuildAndProcess() throws {
    let f = try ServerFixture()
    let (_, secret) = try f.createKey()
    let c = try f.client()
    _ = try c.call("POST", "/v1/verify", json: #"{"key":"\#(secret)","scope":"accounts:read"}"#)
    let r = try c.call("GET", "/metrics", headers: f.auth)
    #expect(r.status == 200)
    let text = String(decoding: r.body, as: UTF8.self)
    let sample = try Regex(#"^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? \S+$"#)
    for line in text.split(separator: "\n") where !line.hasPrefix("#") {
        #expect(line.wholeMatch(of: sample) != nil, "\(line)")
    }
    #expect(text.contains(#"keyledger_verify_decisions_total{code="VALID"} 1"#))
    #expect(text.contains(#"keyledger_http_request_duration_seconds_count{route="/v1/verify",method="POST"} 1"#))
    #expect(
        text.contains(#"keyledger_http_request_duration_seconds_bucket{route="/v1/keys",method="POST",le="+Inf"} 1"#))
    #expect(text.contains("keyledger_build_info{version=\"\(BuildInfo.version)\""))
    for family in ["process_resident_memory_bytes", "process_open_fds", "process_start_time_seconds"] {
        let value = text.split(separator: "\n").first { $0.hasPrefix(family + " ") }?.split(separator: " ").last
        #expect((value.flatMap { Double($0) } ?? 0) > 0, "\(family)")
    }
}

/// A `ledger:metrics` key reads `/metrics` and nothing else, and its scrapes leave no
/// record (API.md, "Management credentials").
@Test func aMetricsKeyScrapesUnrecordedAndReadsNothingElse() throws {
    let f = try ServerFixture()
    let (_, scraper) = try f.createKey(#"{"owner":"ops","name":"prometheus","scopes":["ledger:metrics"]}"#)
    let c = try f.client()
    let before = f.eventCount
    let bearer = ["Authorization": "Bearer \(scraper)"]
    for _ in 0..<3 { #expect(try c.call("GET", "/metrics", headers: bearer).status == 200) }
    #expect(f.eventCount == before)
    #expect(try c.call("GET", "/v1/keys", headers: bearer).status == 403)
    #expect(try c.call("GET", "/v1/audit", headers: bearer).status == 403)
}

/// The value of the unlabelled sample `name` in an exposition.
func sampleValue(_ text: String, _ name: String) -> Double? {
    text.split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap { Double($0.split(separator: " ")[1]) }
}

/// How stale the signed tree is: events no stored checkpoint covers are counted, with
/// the wait of the oldest; once a checkpoint covering the log is stored, both are 0.
@Test func checkpointMetricsCountWhatNoStoredCheckpointCovers() throws {
    let f = try ServerFixture()
    _ = try f.createKey()
    let c = try f.client()
    var text = String(decoding: try c.call("GET", "/metrics", headers: f.auth).body, as: UTF8.self)
    #expect(sampleValue(text, "keyledger_checkpoint_uncovered_events") == Double(f.eventCount))
    #expect((sampleValue(text, "keyledger_checkpoint_age_seconds") ?? -1) >= 0)
    for _ in 0..<200 where try f.ledger.treeHead().size < f.eventCount { Thread.sleep(forTimeInterval: 0.01) }
    try TreeCheckpoints(ledger: f.ledger).recordIfGrown()
    text = String(decoding: try c.call("GET", "/metrics", headers: f.auth).body, as: UTF8.self)
    #expect(sampleValue(text, "keyledger_checkpoint_uncovered_events") == 0)
    #expect(sampleValue(text, "keyledger_checkpoint_age_seconds") == 0)
}

/// docs/operations.md's metric table names every family a live `/metrics` serves, with
/// its type and what to alert on, and no family it does not serve.
@Test func operationsDocumentListsEveryMetric() throws {
    let f = try ServerFixture()
    let text = String(decoding: try f.client().call("GET", "/metrics", headers: f.auth).body, as: UTF8.self)
    var served: [String: String] = [:]
    for line in text.split(separator: "\n") where line.hasPrefix("# TYPE ") {
        let parts = line.split(separator: " ")
        served[String(parts[2])] = String(parts[3])
    }
    let docs = try String(contentsOfFile: repositoryRoot + "/docs/operations.md", encoding: .utf8)
    let lines = docs.split(separator: "\n", omittingEmptySubsequences: false)
    let start = try #require(lines.firstIndex(of: "## Monitoring"))
    let table = lines[start...].drop { !$0.hasPrefix("| metric |") }.prefix { $0.hasPrefix("|") }.dropFirst(2)
    var documented: [String: String] = [:]
    for row in table {
        let cells = row.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(cells.count == 4 && !cells[3].isEmpty, "\(row): metric, type, what, alert on")
        let name = cells[0].trimmingCharacters(in: CharacterSet(charactersIn: "`")).prefix { $0 != "{" }
        documented[String(name)] = cells[1]
    }
    #expect(documented == served)
}

/// The journal's metrics: each LMDB commit of its batches is counted with its time, and
/// once the log's readers see every acknowledged event nothing is unreadable.
@Test func metricsCountTheJournalsCommitsToTheLog() throws {
    let f = try ServerFixture()
    _ = try f.createKey()
    try f.ledger.awaitLog()
    let text = String(decoding: try f.client().call("GET", "/metrics", headers: f.auth).body, as: UTF8.self)
    func value(_ name: String) -> Double? {
        text.split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap { Double($0.split(separator: " ")[1]) }
    }
    #expect((value("keyledger_log_commit_seconds_count") ?? 0) >= 1)
    #expect(value("keyledger_log_commit_failures_total") == 0)
    #expect(value("keyledger_log_unreadable_events") == 0)
}
