import Events
import HTTP
import JSON
import Ledger
import Projections
import Rendering

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
