import Events
import HTTP
import Ledger
import Notify

extension Call {
    /// `GET /metrics`: Prometheus text exposition, for root, the socket and
    /// `ledger:metrics` keys (whose scrapes are not recorded).
    func metrics() throws(APIError) {
        let context = try context()
        try Query(request.query).finish()
        authorized(.readMetrics, context) { _ throws(APIError) in try exposition() }
    }

    /// The metrics in Prometheus text format.
    func exposition() throws(APIError) -> HTTPResponse {
        var p = PrometheusText()
        p.family("keyledger_build_info", "gauge", "The running build: version and Swift compiler (always 1).")
        p.sample(
            "keyledger_build_info", [("version", BuildInfo.version), ("swift", BuildInfo.swiftVersion)], UInt64(1))
        let requests = requestMetrics.snapshot
        p.family("keyledger_http_requests_total", "counter", "Requests answered, by route, method and status.")
        for (key, count) in requests.counts.sorted(by: {
            ($0.key.route, $0.key.method, $0.key.status) < ($1.key.route, $1.key.method, $1.key.status)
        }) {
            p.sample(
                "keyledger_http_requests_total",
                [("route", key.route), ("method", key.method), ("status", String(key.status))], count)
        }
        p.family(
            "keyledger_http_request_duration_seconds", "histogram",
            "Time from a request's arrival to its answer, by route and method.")
        for (key, histogram) in requests.latency.sorted(by: { $0.key < $1.key }) {
            p.histogram(
                "keyledger_http_request_duration_seconds", [("route", key.route), ("method", key.method)], histogram)
        }
        let snapshot = ledger.metrics.snapshot
        p.family("keyledger_verify_decisions_total", "counter", "Verification decisions, by code.")
        for code in VerifyCode.allCases {
            p.sample("keyledger_verify_decisions_total", [("code", code.wireName)], snapshot.verifyDecisions[code] ?? 0)
        }
        do {
            let head = try ledger.head().seq
            p.family("keyledger_events_appended_total", "counter", "Events in the log (its head sequence).")
            p.sample("keyledger_events_appended_total", [], head)
            p.family("keyledger_projection_lag_events", "gauge", "Events of the log a projection has not applied yet.")
            for (name, checkpoint) in try ledger.projectionCheckpoints().sorted(by: { $0.key < $1.key }) {
                p.sample(
                    "keyledger_projection_lag_events", [("projection", name)], head > checkpoint ? head - checkpoint : 0
                )
            }
            p.family(
                "keyledger_projection_lag_seconds", "gauge",
                "Age of the oldest log commit the projections do not include yet (0 when caught up).")
            p.sample("keyledger_projection_lag_seconds", [], ledger.projectionLag().seconds)
            let map = try ledger.mapUsage()
            p.family("keyledger_map_size_bytes", "gauge", "Size of the LMDB map.")
            p.sample("keyledger_map_size_bytes", [], UInt64(map.size))
            p.family("keyledger_map_used_bytes", "gauge", "Bytes of the LMDB map in use.")
            p.sample("keyledger_map_used_bytes", [], UInt64(map.used))
            // A checkpoint row carries no time. How stale the signed tree is shows as the
            // events no stored checkpoint covers yet and how long the oldest of them has
            // waited: both stay near zero while checkpoints are stored, idle or not.
            let covered = try ledger.newestCheckpoint()?.size ?? 0
            var waited = 0.0
            if head > covered, let oldest = try ledger.event(at: covered + 1) {
                waited = max(0, Double(ledger.clock.now() - oldest.event.time) / 1_000_000)
            }
            p.family(
                "keyledger_checkpoint_uncovered_events", "gauge", "Events of the log no stored checkpoint covers yet.")
            p.sample("keyledger_checkpoint_uncovered_events", [], head > covered ? head - covered : 0)
            p.family(
                "keyledger_checkpoint_age_seconds", "gauge",
                "Seconds the oldest event no stored checkpoint covers has waited (0 when one covers the log).")
            p.sample("keyledger_checkpoint_age_seconds", [], waited)
        } catch {
            throw APIError(.unavailable("metrics: \(error)"))
        }
        p.family("keyledger_writer_batch_size", "histogram", "Commands per write transaction.")
        p.histogram("keyledger_writer_batch_size", [], Histogram(snapshot.batchSizes))
        p.family(
            "keyledger_writer_commit_seconds", "histogram", "Time to decide, append and durably commit a batch.")
        p.histogram("keyledger_writer_commit_seconds", [], Histogram(snapshot.commitSeconds))
        p.family(
            "keyledger_writer_failed_batches_total", "counter", "Batches that could not be committed (answered 503).")
        p.sample("keyledger_writer_failed_batches_total", [], snapshot.failedBatches)
        p.family(
            "keyledger_log_commit_seconds", "histogram",
            "Time of each LMDB commit of the journal's batches (what makes them readable).")
        p.histogram("keyledger_log_commit_seconds", [], Histogram(snapshot.logCommitSeconds))
        p.family(
            "keyledger_log_commit_failures_total", "counter",
            "LMDB commits of the journal's batches that failed (the batches stay acknowledged in the journal).")
        p.sample("keyledger_log_commit_failures_total", [], snapshot.failedLogCommits)
        p.family(
            "keyledger_journal_write_seconds", "histogram",
            "Time of each batch's synced write of the journal: the durable step of a batch.")
        p.histogram("keyledger_journal_write_seconds", [], Histogram(snapshot.journalWriteSeconds))
        p.family(
            "keyledger_log_unreadable_events", "gauge",
            "Acknowledged events, durable in the journal, that the log's readers do not see yet.")
        p.sample("keyledger_log_unreadable_events", [], ledger.unreadableEvents())
        let decisions = ledger.decisionStateSize()
        p.family("keyledger_decision_state_keys", "gauge", "Keys in the writer's in-memory decision state.")
        p.sample("keyledger_decision_state_keys", [], UInt64(decisions.keys))
        p.family(
            "keyledger_decision_state_bytes", "gauge",
            "Bytes the writer's decision state holds (its arrays' and tables' capacities).")
        p.sample("keyledger_decision_state_bytes", [], UInt64(decisions.bytes))
        if let deliveries = notifications.deliveries {
            let counts = deliveries.counts
            p.family(
                "keyledger_webhook_attempts_total", "counter",
                "Webhook delivery attempts since start, by result (delivered: a 2xx answer).")
            p.sample("keyledger_webhook_attempts_total", [("result", "delivered")], counts.delivered)
            p.sample("keyledger_webhook_attempts_total", [("result", "failed")], counts.failed)
            p.family(
                "keyledger_webhook_events_given_up_total", "counter",
                "Events a webhook stopped retrying since start (3 days after their first attempt).")
            p.sample("keyledger_webhook_events_given_up_total", [], counts.givenUp)
            do {
                let queued = try deliveries.queuedTotal()
                p.family("keyledger_webhook_queued_events", "gauge", "Events waiting for delivery, over all webhooks.")
                p.sample("keyledger_webhook_queued_events", [], UInt64(queued))
            } catch {
                throw APIError(.unavailable("metrics: \(error)"))
            }
        }
        let process = ProcessMetrics.read()
        p.family("process_cpu_seconds_total", "counter", "User and system CPU time spent, in seconds.")
        p.sample("process_cpu_seconds_total", [], process.cpuSeconds)
        p.family("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.")
        p.sample("process_resident_memory_bytes", [], process.residentBytes)
        p.family("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.")
        p.sample("process_virtual_memory_bytes", [], process.virtualBytes)
        p.family("process_open_fds", "gauge", "Open file descriptors.")
        p.sample("process_open_fds", [], process.openFDs)
        p.family("process_max_fds", "gauge", "The limit on open file descriptors.")
        p.sample("process_max_fds", [], process.maxFDs)
        p.family("process_start_time_seconds", "gauge", "Start time of the process since the epoch, in seconds.")
        p.sample("process_start_time_seconds", [], process.startTimeSeconds)
        return HTTPResponse(
            status: 200, headers: [("Content-Type", "text/plain; version=0.0.4")], body: Array(p.text.utf8))
    }
}

extension Histogram {
    /// The same figures as a ledger histogram.
    init(_ h: LedgerMetrics.Histogram) {
        self.init(bounds: h.bounds, counts: h.counts, sum: h.sum, count: h.count)
    }
}
