import Events
import HTTP
import JSON
import Ledger
import Projections
import Rendering

extension Call {
    /// `GET /v1/keys?sort=expiresAt` or `?expiresBefore=`: the keys that can still expire,
    /// soonest first.
    func listKeysByExpiry(
        _ context: CommandContext, owner: String?, status: KeyStatus?, expiresBefore: Int64?, cursor: String?,
        limit: Int
    ) throws(APIError) {
        let after = try cursor.map { cursor throws(APIError) in
            guard let bytes = Base64URL.decode(cursor), bytes.count == 24 else {
                throw .invalid("cursor", "not a cursor this endpoint gave out")
            }
            return bytes
        }
        let ledger = self.ledger
        authorized(.listKeys(owner: owner), context) { grant throws(APIError) in
            let page: (keys: [KeyState], last: [UInt8]?, more: Bool)
            do throws(LedgerError) {
                page = try ledger.listKeysByExpiry(
                    owner: grant.owner ?? owner, status: status, expiresBefore: expiresBefore, after: after,
                    limit: limit)
            } catch {
                throw APIError(error)
            }
            let now = ledger.clock.now()
            let next = page.more ? page.last.map { Base64URL.encode($0) } : nil
            return ok(
                200, Envelope.list(page.keys, nextCursor: next) { key, w in KeyJSON.write(key, now: now, into: &w) })
        }
    }
}
