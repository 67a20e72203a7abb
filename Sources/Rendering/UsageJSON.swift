import Events
public import JSON
public import Projections

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
