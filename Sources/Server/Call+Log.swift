import Dispatch
import Events
import HTTP
import JSON
import Ledger

extension Call {
    /// `GET /v1/events`: the log in order, for tailing (root or socket only).
    func events() throws(APIError) {
        let principal = try Principal.resolve(request, ledger: ledger)
        guard principal.isAdministrator else {
            throw .forbidden("only the root token or the Unix socket may read the whole log")
        }
        var query = try Query(request.query)
        let after = try query.integer("after", in: 0...Int.max, default: 0) ?? 0
        let limit = try query.integer("limit", in: 1...1000, default: 1000) ?? 1000
        let wait = try query.integer("wait", in: 0...60, default: 0) ?? 0
        let record = try Self.includesRecord(&query)
        try query.finish()
        let ledger = self.ledger
        let finish = self.finish
        let answer: @Sendable () -> Void = {
            do throws(LedgerError) {
                let page = try ledger.events(after: UInt64(after), limit: limit, wait: Double(wait))
                finish(
                    .success(
                        ok(
                            200,
                            Envelope.list(page, nextCursor: nil) { stored, w in
                                Self.writeEvent(stored, record: record, &w)
                            })))
            } catch {
                finish(.failure(APIError(error)))
            }
        }
        // A long-poll blocks while it waits: never on the event loop.
        if wait > 0 { DispatchQueue.global().async(execute: answer) } else { answer() }
    }

    /// `GET /v1/ledger/verify`: checks the whole hash chain.
    func ledgerVerify() throws(APIError) {
        let principal = try Principal.resolve(request, ledger: ledger)
        guard principal.isAdministrator else {
            throw .forbidden("only the root token or the Unix socket may check the chain")
        }
        try Query(request.query).finish()
        let report: ChainReport
        do {
            report = try ledger.verifyChain()
        } catch {
            throw APIError(error)
        }
        finish(
            .success(
                ok(
                    200,
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
                    })))
    }
}
