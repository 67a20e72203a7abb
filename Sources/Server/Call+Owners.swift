import Events
import HTTP
import JSON
import Ledger
import Projections
import Rendering

extension Call {
    func putOwner(_ name: String) throws(APIError) {
        let context = try context()
        try Query(request.query).finish()
        try Self.checkOwner(name)
        var body = try RequestBody(request.body, optional: true)
        var changes = OwnerChanges()
        changes.rateLimits = try body.rateLimits("rateLimits")
        changes.credits = try body.nullableInteger("credits", in: 0...KeyRules.maxCredits)
        changes.refill = try body.refill("refill")
        changes.plan = try body.nullableString("plan")
        changes.metadata = try body.metadata("metadata", nullDeletes: false)?.compactMapValues { $0 }
        if let policy = try body.string("leakPolicy") {
            guard let parsed = LeakPolicy(wireName: policy) else {
                throw .invalid("leakPolicy", "must be one of revoke, suspend, notify")
            }
            changes.leakPolicy = parsed
        }
        changes.purgeAfterSeconds = try body.nullableInteger(
            "purgeAfterSeconds", in: 0...OwnerRules.maxPurgeAfterSeconds)
        try body.finish()
        submit(.putOwner(name, changes), context) { outcome in
            guard case .owner(let owner) = outcome else { return nil }
            return ok(200, Envelope.data { OwnerJSON.write(owner, into: &$0) })
        }
    }

    func getOwner(_ name: String) throws(APIError) {
        let context = try context()
        try Query(request.query).finish()
        try Self.checkOwner(name)
        let ledger = self.ledger
        authorized(.readOwners(name), context) { _ throws(APIError) in
            let owner: OwnerState?
            do throws(LedgerError) { owner = try ledger.owner(name) } catch { throw APIError(error) }
            guard let owner else { throw .notFound("no owner \(name)") }
            return ok(200, Envelope.data { OwnerJSON.write(owner, into: &$0) })
        }
    }

    func listOwners() throws(APIError) {
        let context = try context()
        var query = try Query(request.query)
        let limit = Int(try query.integer("limit", in: 1...1000, default: 100) ?? 100)
        let after = try Self.nameCursor(query.string("cursor"))
        try query.finish()
        let ledger = self.ledger
        authorized(.readOwners(nil), context) { grant throws(APIError) in
            var page: [OwnerState]
            do throws(LedgerError) {
                if let only = grant.owner {
                    page = try ledger.owner(only).map { [$0] } ?? []
                    if let after { page = page.filter { $0.name > after } }
                } else {
                    page = try ledger.owners(after: after, limit: limit + 1)
                }
            } catch {
                throw APIError(error)
            }
            return namePage(page, limit: limit, name: \.name) { o, w in OwnerJSON.write(o, into: &w) }
        }
    }

    func putPlan(_ name: String) throws(APIError) {
        let context = try context()
        try Query(request.query).finish()
        var body = try RequestBody(request.body, optional: true)
        var changes = PlanChanges()
        changes.rateLimits = try body.rateLimits("rateLimits")
        changes.credits = try body.nullableInteger("credits", in: 0...KeyRules.maxCredits)
        changes.refill = try body.refill("refill")
        try body.finish()
        submit(.putPlan(name, changes), context) { outcome in
            guard case .plan(let plan) = outcome else { return nil }
            return ok(200, Envelope.data { OwnerJSON.write(plan, into: &$0) })
        }
    }

    func getPlan(_ name: String) throws(APIError) {
        let context = try context()
        try Query(request.query).finish()
        let ledger = self.ledger
        authorized(.readPlans, context) { _ throws(APIError) in
            let plan: PlanState?
            do throws(LedgerError) { plan = try ledger.plan(name) } catch { throw APIError(error) }
            guard let plan else { throw .notFound("no plan \(name.prefix(64))") }
            return ok(200, Envelope.data { OwnerJSON.write(plan, into: &$0) })
        }
    }

    func listPlans() throws(APIError) {
        let context = try context()
        var query = try Query(request.query)
        let limit = Int(try query.integer("limit", in: 1...1000, default: 100) ?? 100)
        let after = try Self.nameCursor(query.string("cursor"))
        try query.finish()
        let ledger = self.ledger
        authorized(.readPlans, context) { _ throws(APIError) in
            let page: [PlanState]
            do throws(LedgerError) { page = try ledger.plans(after: after, limit: limit + 1) } catch {
                throw APIError(error)
            }
            return namePage(page, limit: limit, name: \.name) { p, w in OwnerJSON.write(p, into: &w) }
        }
    }

    /// Runs an owner or plan command and answers with what `answer` makes of its
    /// outcome; nil is an outcome the command does not have.
    func submit(
        _ command: Command, _ context: CommandContext, answer: @escaping @Sendable (Outcome) -> HTTPResponse?
    ) {
        let finish = self.finish
        ledger.submit(command, context: context) { result in
            switch result {
            case .success(let outcome):
                if let response = answer(outcome) {
                    finish(.success(response))
                } else {
                    finish(.failure(APIError(.unavailable("unexpected outcome"))))
                }
            case .failure(let error): finish(.failure(APIError(error)))
            }
        }
    }

    /// A page of a list by name: `page` holds up to `limit` + 1 items, the last one only
    /// when there is a next page, whose cursor is the name of the last item shown.
    func namePage<Item>(
        _ page: [Item], limit: Int, name: (Item) -> String, _ write: (Item, inout JSONWriter) -> Void
    ) -> HTTPResponse {
        let shown = Array(page.prefix(limit))
        let next = page.count > limit ? shown.last.map { Base64URL.encode(Array(name($0).utf8)) } : nil
        return ok(200, Envelope.list(shown, nextCursor: next, write))
    }

    /// A list cursor: the base64url of the last name of the previous page.
    static func nameCursor(_ cursor: String?) throws(APIError) -> String? {
        guard let cursor else { return nil }
        guard let bytes = Base64URL.decode(cursor), let name = String(validating: bytes, as: UTF8.self) else {
            throw .invalid("cursor", "not a cursor this endpoint gave out")
        }
        return name
    }
}
