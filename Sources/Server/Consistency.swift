import HTTP
import Ledger
import Synchronization

/// Consistency of reads (API.md): `X-Ledger-Seq` on every answer, and `minSeq=N` on
/// every query, which waits (holding no thread) up to ``wait`` seconds for the
/// projections to include seq N.
enum Consistency {
    /// Seconds a query with `minSeq` may wait.
    static let wait = 2.0

    /// The value of `minSeq` in a raw query string: nil when absent.
    ///
    /// - Throws: 400 when it is given twice or is not a non-negative integer.
    static func minSeq(_ rawQuery: String) throws(APIError) -> UInt64? {
        var found: UInt64?
        for pair in rawQuery.split(separator: "&") where pair.hasPrefix("minSeq=") || pair == "minSeq" {
            guard found == nil else { throw .invalid("minSeq", "given more than once") }
            let text = pair.dropFirst("minSeq=".count)
            guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), let n = UInt64(text) else {
                throw .invalid("minSeq", "must be a non-negative integer")
            }
            found = n
        }
        return found
    }

    /// Runs `dispatch(nil)` once the projections include `minSeq` (at once without one),
    /// recording in `seq` the projections' seq it reads at least; when the wait ends
    /// first (or too many wait), `dispatch` with the 503 (`Retry-After: 1`) to answer
    /// instead of reading: the request is still authenticated, decided and recorded as
    /// its read would be (``Call/projectionsBehind``).
    ///
    /// - Throws: 400 for a malformed `minSeq`, one on a command, or one past the log's
    ///   head: bad input, which leaves nothing.
    static func whenReadable(
        _ request: HTTPRequest, ledger: Ledger, seq: QuerySeq, dispatch: @escaping @Sendable (APIError?) -> Void
    ) throws(APIError) {
        guard let minSeq = try minSeq(request.query) else {
            if request.method == "GET" { seq.set(try read { () throws(LedgerError) in try ledger.projectedSeq() }) }
            dispatch(nil)
            return
        }
        guard request.method == "GET" else { throw .invalid("minSeq", "is for queries (GET) only") }
        let head = try read { () throws(LedgerError) in try ledger.committedSeq() }
        guard minSeq <= head else { throw .invalid("minSeq", "is past the log's head (\(head))") }
        let waiting = ledger.whenProjected(minSeq, within: wait) { included in
            guard included else { return dispatch(notYet(minSeq)) }
            seq.set(max(minSeq, (try? ledger.projectedSeq()) ?? minSeq))
            dispatch(nil)
        }
        if !waiting { dispatch(notYet(minSeq)) }
    }

    private static func read(_ body: () throws(LedgerError) -> UInt64) throws(APIError) -> UInt64 {
        do {
            return try body()
        } catch {
            throw APIError(error)
        }
    }

    static func notYet(_ minSeq: UInt64) -> APIError {
        APIError(
            status: 503, code: "UNAVAILABLE",
            message: "the projections do not include seq \(minSeq) yet: retry", headers: [("Retry-After", "1")])
    }
}

/// The projections' seq a query's answer includes, set before it reads.
final class QuerySeq: Sendable {
    private let value = Atomic<UInt64>(0)
    private let known = Atomic<Bool>(false)

    func set(_ seq: UInt64) {
        value.store(seq, ordering: .releasing)
        known.store(true, ordering: .releasing)
    }

    var seq: UInt64? { known.load(ordering: .acquiring) ? value.load(ordering: .acquiring) : nil }
}
