import Events
import JSON
import Ledger
import Projections

/// The body of every verify answer, written with plain stores into one array sized
/// once, with the members that change only with the key from ``VerifyFragments`` (hot
/// path, STYLE.md 12: a ``JSONWriter`` checks its capacity and tracks commas for every
/// piece). Strings, integers and times are written by ``JSONBytes`` and ``RFC3339``, as
/// the writer writes them; VerifyAnswerBodyTests holds these bytes to a reference
/// written with a ``JSONWriter``.
enum VerifyAnswerBody {
    static func render(_ v: borrowing VerifyResult, fragments: VerifyFragments) -> [UInt8] {
        let members = v.key.map { fragments.fragments($0, plan: v.plan) }
        // Every fixed part of the answer takes under 400 bytes, numbers at their longest
        // and times included; each rate limit under 160 besides its name.
        var capacity = 400 + (members.map { $0.identity.count + $0.terms.count } ?? 0)
        for limit in v.rateLimits { capacity += 160 + JSONBytes.maxQuotedLength(limit.name?.utf8.count ?? 0) }
        // Written on the stack (an answer is usually under the 1 KiB that always goes
        // there), then copied into an array of its exact size: an array made with
        // uninitialized room goes through the runtime's generic code, at twice the cost.
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: capacity) { buffer in
            let start = buffer.baseAddress.unsafelyUnwrapped
            var out = Output(at: start)
            out.put(#"{"success":true,"data":{"valid":"#)
            out.put(v.isValid ? "true" : "false")
            out.put(#","code":"#)
            out.string(v.code.wireName)
            out.put(#","status":"#)
            out.integer(Int64(v.status))
            if let key = v.key, let members {
                out.put(",")
                out.put(members.identity)
                out.put(#","credits":"#)
                out.integer(key.credits)
                out.put(",")
                out.put(members.terms)
                if let credits = v.ownerCredits {
                    out.put(#","ownerCredits":"#)
                    out.integer(credits)
                }
                out.put(#","rateLimits":["#)
                for (i, limit) in v.rateLimits.enumerated() {
                    out.put(i == 0 ? #"{"name":"# : #",{"name":"#)
                    out.string(limit.name)
                    out.window(limit)
                    out.put(#","scope":"#)
                    out.string(limit.scope.rawValue)
                    out.put("}")
                }
                out.put("]")
            }
            if let limit = v.rateLimit, v.code == .valid || v.code == .rateLimited || v.code == .usageExceeded {
                out.put(#","rateLimit":{"#)
                out.window(limit, first: true)
                out.put("}")
            }
            if v.code == .rateLimited {
                out.put(#","retryAfterSeconds":"#)
                out.integer(Int64(v.retryAfterSeconds ?? 1))
            }
            out.put("}}")
            let count = out.next - start
            assert(count <= capacity)
            return Array(UnsafeBufferPointer(start: start, count: count))
        }
    }

    /// Where the next byte goes, in room sized up front.
    private struct Output {
        var next: UnsafeMutablePointer<UInt8>
        /// The last `resetAt` written and where its quoted text lies: the limit closest
        /// to exhaustion is one of the answer's limits, so its time comes twice.
        var lastReset: (micros: Int64, at: UnsafeMutablePointer<UInt8>)?

        init(at start: UnsafeMutablePointer<UInt8>) { next = start }

        mutating func put(_ text: StaticString) {
            next.update(from: text.utf8Start, count: text.utf8CodeUnitCount)
            next += text.utf8CodeUnitCount
        }

        mutating func put(_ bytes: [UInt8]) {
            bytes.withUnsafeBufferPointer { bytes in
                guard let base = bytes.baseAddress else { return }
                next.update(from: base, count: bytes.count)
                next += bytes.count
            }
        }

        mutating func string(_ value: String?) {
            guard var value else { return put("null") }
            value.withUTF8 { next += JSONBytes.writeQuoted($0, at: next) }
        }

        mutating func integer(_ value: Int64?) {
            guard let value else { return put("null") }
            next += JSONBytes.writeDecimal(value, at: next)
        }

        /// `"limit":n,"remaining":n,"resetAt":"..."`, after a comma unless `first`.
        mutating func window(_ limit: RateLimitStatus, first: Bool = false) {
            put(first ? #""limit":"# : #","limit":"#)
            next += JSONBytes.writeDecimal(limit.limit, at: next)
            put(#","remaining":"#)
            next += JSONBytes.writeDecimal(limit.remaining, at: next)
            put(#","resetAt":"#)
            if let last = lastReset, last.micros == limit.resetAt {
                next.update(from: last.at, count: RFC3339.quotedLength)
            } else {
                RFC3339.writeQuoted(micros: limit.resetAt, at: next)
                lastReset = (limit.resetAt, next)
            }
            next += RFC3339.quotedLength
        }
    }
}
