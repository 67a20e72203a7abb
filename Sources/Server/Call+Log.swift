import Dispatch
import Events
import HTTP
import JSON
import Ledger

extension Call {
    /// `GET /v1/events`: the log in order, for tailing (root or socket only).
    func events() throws(APIError) {
        let context = try context()
        var query = try Query(request.query)
        let after = try query.integer("after", in: 0...Int.max, default: 0) ?? 0
        let limit = try query.integer("limit", in: 1...1000, default: 1000) ?? 1000
        let wait = try query.integer("wait", in: 0...60, default: 0) ?? 0
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
                                EventJSON.write(stored.event, prevHash: stored.prevHash, hash: stored.hash, into: &w)
                            })))
            } catch {
                finish(.failure(APIError(error)))
            }
        }
        ledger.authorize(.readEvents, context: context) { result in
            switch result {
            // A long-poll blocks while it waits: never on the event loop.
            case .success: if wait > 0 { DispatchQueue.global().async(execute: answer) } else { answer() }
            case .failure(let error): finish(.failure(APIError(error)))
            }
        }
    }

    /// `GET /v1/ledger/verify`: checks the whole hash chain.
    func ledgerVerify() throws(APIError) {
        let context = try context()
        try Query(request.query).finish()
        let ledger = self.ledger
        authorized(.checkChain, context) { _ throws(APIError) in
            let report: ChainReport
            do throws(LedgerError) {
                report = try ledger.verifyChain()
            } catch {
                throw APIError(error)
            }
            return ok(
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
                })
        }
    }
}
