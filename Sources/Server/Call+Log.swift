import Events
import HTTP
import JSON
import Ledger

extension Call {
    /// `GET /v1/events`: the log in order, for tailing (root or socket only). A long-poll
    /// (`wait`) holds no thread: the ledger answers it on the next commit or at the
    /// deadline; when too many wait already it is 503 with `Retry-After`.
    func events() throws(APIError) {
        let context = try context()
        var query = try Query(request.query)
        let after = try query.integer("after", in: 0...Int.max, default: 0) ?? 0
        let limit = try query.integer("limit", in: 1...1000, default: 1000) ?? 1000
        let wait = try query.integer("wait", in: 0...60, default: 0) ?? 0
        let record = try Self.includesRecord(&query)
        try query.finish()
        let ledger = self.ledger
        let finish = self.finish
        let behind = projectionsBehind
        ledger.authorize(.readEvents, context: context) { granted in
            if case .failure(let error) = granted { return finish(.failure(APIError(error))) }
            if let behind { return finish(.failure(behind)) }
            let accepted = ledger.events(after: UInt64(after), limit: limit, wait: Double(wait)) { result in
                switch result {
                case .success(let page):
                    finish(
                        .success(
                            ok(
                                200,
                                Envelope.list(page, nextCursor: nil) { stored, w in
                                    Self.writeEvent(stored, record: record, &w)
                                })))
                case .failure(let error): finish(.failure(APIError(error)))
                }
            }
            if !accepted {
                finish(
                    .failure(
                        APIError(
                            status: 503, code: "UNAVAILABLE",
                            message: "too many long-polls are waiting: retry, or poll without wait",
                            headers: [("Retry-After", "1")])))
            }
        }
    }

    /// `GET /v1/ledger/verify`: checks the hash chain from the last point found intact
    /// (`full=true`: from seq 1) on the ledger's chain-check thread, never the event loop.
    func ledgerVerify() throws(APIError) {
        let context = try context()
        var query = try Query(request.query)
        let full = try query.boolean("full", default: false)
        try query.finish()
        let ledger = self.ledger
        let finish = self.finish
        let behind = projectionsBehind
        ledger.authorize(.checkChain, context: context) { granted in
            if case .failure(let error) = granted { return finish(.failure(APIError(error))) }
            if let behind { return finish(.failure(behind)) }
            ledger.checkChain(full: full) { result in
                switch result {
                case .success(let report): finish(.success(ok(200, Self.render(report))))
                case .failure(let error): finish(.failure(APIError(error)))
                }
            }
        }
    }

    private static func render(_ report: ChainReport) -> [UInt8] {
        Envelope.data { w in
            w.beginObject()
            w.field("ok", report.isIntact)
            w.key("events")
            w.uint(report.events)
            if let bad = report.firstBadSeq {
                w.key("firstBadSeq")
                w.uint(bad)
                w.field("reason", report.reason)
            } else {
                w.field("head", report.head.hex)
            }
            w.endObject()
        }
    }
}
