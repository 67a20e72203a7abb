import Events
import HTTP
import Ledger

extension Call {
    /// `GET /metrics`: Prometheus text exposition (root or socket only).
    func metrics() throws(APIError) {
        let context = try context()
        try Query(request.query).finish()
        authorized(.readMetrics, context) { _ throws(APIError) in try exposition() }
    }

    /// The metrics in Prometheus text format.
    func exposition() throws(APIError) -> HTTPResponse {
        var text = ""
        func family(_ name: String, _ type: String, _ help: String) {
            text += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
        }
        family("keyledger_http_requests_total", "counter", "Requests answered, by route, method and status.")
        for (key, count) in requestMetrics.snapshot.sorted(by: {
            ($0.key.route, $0.key.method, $0.key.status) < ($1.key.route, $1.key.method, $1.key.status)
        }) {
            text +=
                "keyledger_http_requests_total{route=\"\(key.route)\",method=\"\(key.method)\",status=\"\(key.status)\"} \(count)\n"
        }
        let snapshot = ledger.metrics.snapshot
        family("keyledger_verify_decisions_total", "counter", "Verification decisions, by code.")
        for code in VerifyCode.allCases {
            text +=
                "keyledger_verify_decisions_total{code=\"\(code.wireName)\"} \(snapshot.verifyDecisions[code] ?? 0)\n"
        }
        do {
            let head = try ledger.head().seq
            family("keyledger_events_appended_total", "counter", "Events in the log (its head sequence).")
            text += "keyledger_events_appended_total \(head)\n"
            family("keyledger_projection_lag_events", "gauge", "Events of the log a projection has not applied yet.")
            for (name, checkpoint) in try ledger.projectionCheckpoints().sorted(by: { $0.key < $1.key }) {
                text +=
                    "keyledger_projection_lag_events{projection=\"\(name)\"} \(head > checkpoint ? head - checkpoint : 0)\n"
            }
            let map = try ledger.mapUsage()
            family("keyledger_map_size_bytes", "gauge", "Size of the LMDB map.")
            text += "keyledger_map_size_bytes \(map.size)\n"
            family("keyledger_map_used_bytes", "gauge", "Bytes of the LMDB map in use.")
            text += "keyledger_map_used_bytes \(map.used)\n"
        } catch {
            throw APIError(.unavailable("metrics: \(error)"))
        }
        histogram("keyledger_writer_batch_size", "Commands per write transaction.", snapshot.batchSizes, &text)
        histogram(
            "keyledger_writer_commit_seconds", "Time to decide, append and durably commit a batch.",
            snapshot.commitSeconds, &text)
        family(
            "keyledger_writer_failed_batches_total", "counter", "Batches that could not be committed (answered 503).")
        text += "keyledger_writer_failed_batches_total \(snapshot.failedBatches)\n"
        return HTTPResponse(
            status: 200, headers: [("Content-Type", "text/plain; version=0.0.4")], body: Array(text.utf8))
    }

    func histogram(_ name: String, _ help: String, _ h: LedgerMetrics.Histogram, _ text: inout String) {
        text += "# HELP \(name) \(help)\n# TYPE \(name) histogram\n"
        for (bound, count) in zip(h.bounds, h.counts) { text += "\(name)_bucket{le=\"\(bound)\"} \(count)\n" }
        text += "\(name)_bucket{le=\"+Inf\"} \(h.count)\n\(name)_sum \(h.sum)\n\(name)_count \(h.count)\n"
    }
}
