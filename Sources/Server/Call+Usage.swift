import Events
import HTTP
public import JSON
import Ledger
public import Projections

extension Call {
    /// `GET /v1/keys/{id}/usage?start=&end=&granularity=&metrics=`.
    func keyUsage(_ id: KeyID) throws(APIError) {
        let context = try context()
        var query = try Query(request.query)
        guard let start = try time(&query, "start") else { throw .invalid("start", "is required (RFC 3339)") }
        guard let end = try time(&query, "end") else { throw .invalid("end", "is required (RFC 3339)") }
        guard start < end else { throw .invalid("start", "must be before end") }
        var granularity = UsageGranularity.hour
        if let text = query.string("granularity") {
            guard let g = UsageGranularity(wireName: text) else {
                throw .invalid("granularity", "must be minute, hour or day")
            }
            granularity = g
        }
        var wanted: Set<String> = ["requests", "errors", "latency"]
        if let list = query.string("metrics") {
            wanted = []
            for name in list.split(separator: ",", omittingEmptySubsequences: false) {
                guard ["requests", "errors", "latency"].contains(name) else {
                    throw .invalid(
                        "metrics", "unknown metric \(name.prefix(32)); metrics are requests, errors, latency")
                }
                wanted.insert(String(name))
            }
        }
        try query.finish()
        let ledger = self.ledger
        let (granularityAsked, metricsAsked) = (granularity, wanted)
        authorized(.readKeyHistory(id), context) { _ throws(APIError) in
            try Self.requireKey(ledger, id)
            let report: UsageReport
            do throws(LedgerError) {
                report = try ledger.usage(of: id, start: start, end: end, granularity: granularityAsked)
            } catch {
                throw APIError(error)
            }
            return HTTPResponse(
                status: 200, headers: [("Content-Type", "application/json")],
                body: Envelope.data { w in UsageJSON.write(report, metrics: metricsAsked, into: &w) })
        }
    }
}

/// Renders a usage report (API.md "Usage"); latency in milliseconds.
public enum UsageJSON {
    /// Writes the report with only the `metrics` asked for (requests, errors, latency).
    public static func write(_ report: UsageReport, metrics wanted: Set<String>, into w: inout JSONWriter) {
        w.beginObject()
        w.field("keyId", report.keyID.description)
        w.field("start", timestamp: report.start)
        w.field("end", timestamp: report.end)
        w.field("granularity", report.granularity.wireName)
        w.key("totals")
        write(report.totals, wanted, &w)
        w.key("buckets")
        w.beginArray()
        for bucket in report.buckets {
            w.beginObject()
            w.field("start", timestamp: bucket.start)
            writeFields(bucket.metrics, wanted, &w)
            w.endObject()
        }
        w.endArray()
        w.endObject()
    }

    static func write(_ m: UsageMetrics, _ wanted: Set<String>, _ w: inout JSONWriter) {
        w.beginObject()
        writeFields(m, wanted, &w)
        w.endObject()
    }

    static func writeFields(_ m: UsageMetrics, _ wanted: Set<String>, _ w: inout JSONWriter) {
        if wanted.contains("requests") {
            w.key("requests")
            w.uint(m.requests)
        }
        if wanted.contains("errors") {
            w.key("errors")
            w.uint(m.errors)
        }
        if wanted.contains("latency") {
            w.key("latency")
            w.beginObject()
            for (name, p) in [("p50", 50.0), ("p95", 95.0), ("p99", 99.0)] {
                w.key(name)
                w.double(Double(m.latency.percentile(p)) / 1000)
            }
            w.key("max")
            w.double(Double(m.latency.max) / 1000)
            w.endObject()
        }
    }
}
