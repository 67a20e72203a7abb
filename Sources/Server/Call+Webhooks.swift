import Events
import HTTP
import JSON
import Ledger
import Notify
import Projections

extension Call {
    /// `{"webhook": ..., "secret": "whsec_..."}`: the only answers carrying a webhook secret.
    func webhookWithSecret(_ hook: Webhook, _ key: WebhookKey) -> [UInt8] {
        Envelope.data { w in
            w.beginObject()
            w.key("webhook")
            WebhookJSON.write(hook, into: &w)
            w.field("secret", key.secret(hook.id, version: hook.secretVersion))
            w.endObject()
        }
    }

    /// The answer to a webhook command: the webhook, with its current secret when `secret`
    /// is given (create, rotate-secret). A replay renders its kept webhook through it too.
    func webhookAnswer(_ status: Int, _ hook: Webhook, secret: WebhookKey?) -> HTTPResponse {
        guard let secret else { return ok(status, Envelope.data { WebhookJSON.write(hook, into: &$0) }) }
        return ok(status, webhookWithSecret(hook, secret))
    }

    func webhookKey() throws(APIError) -> WebhookKey {
        guard let key = notifications.key else {
            throw APIError(.unavailable("webhook secrets need a writable server (its webhook key)"))
        }
        return key
    }

    func createWebhook() throws(APIError) {
        let context = try context()
        try Query(request.query).finish()
        let key = try webhookKey()
        var body = try RequestBody(request.body)
        let url = try body.string("url", required: true, maxLength: WebhookRules.maxURLLength) ?? ""
        guard let types = try body.strings("eventTypes") else { throw .invalid("eventTypes", "is required") }
        let owner = try body.string("owner")
        let description = try body.string("description", maxLength: WebhookRules.maxDescriptionLength)
        try body.finish()
        let finish = self.finish
        ledger.createWebhook(
            WebhookSpec(owner: owner, url: url, eventTypes: types, description: description), context: context
        ) { result in
            switch result {
            case .success(let hook): finish(.success(webhookAnswer(201, hook, secret: key)))
            case .failure(let error): finish(.failure(APIError(error)))
            }
        }
    }

    func listWebhooks() throws(APIError) {
        let context = try context()
        var query = try Query(request.query)
        let owner = query.string("owner")
        let limit = try query.integer("limit", in: 1...1000, default: 100) ?? 100
        let cursor = query.string("cursor")
        try query.finish()
        if let owner { try Self.checkOwner(owner) }
        let after = try cursor.map { cursor throws(APIError) in
            guard let id = WebhookID(cursor) else { throw .invalid("cursor", "not a cursor this endpoint gave out") }
            return id
        }
        let ledger = self.ledger
        authorized(.listWebhooks(owner: owner), context) { grant throws(APIError) in
            let page: (webhooks: [Webhook], more: Bool)
            do throws(LedgerError) {
                page = try ledger.webhooks(owner: grant.owner ?? owner, after: after, limit: limit)
            } catch {
                throw APIError(error)
            }
            let next = page.more ? page.webhooks.last?.id.description : nil
            return ok(
                200, Envelope.list(page.webhooks, nextCursor: next) { hook, w in WebhookJSON.write(hook, into: &w) })
        }
    }

    /// The webhook's owner, for the authorization of an action on it (nil: no such webhook).
    func owner(of id: WebhookID) throws(APIError) -> String? {
        do throws(LedgerError) {
            return try ledger.webhook(id)?.owner
        } catch {
            throw APIError(error)
        }
    }

    func webhookResponse(
        _ command: WebhookCommand, _ context: CommandContext, status: Int = 200, secret: WebhookKey? = nil
    ) {
        let finish = self.finish
        ledger.submitWebhook(command, context: context) { result in
            switch result {
            case .success(let hook): finish(.success(webhookAnswer(status, hook, secret: secret)))
            case .failure(let error): finish(.failure(APIError(error)))
            }
        }
    }

    func webhook(_ id: WebhookID) throws(APIError) {
        let context = try context()
        try Query(request.query).finish()
        switch request.method {
        case "PATCH":
            var body = try RequestBody(request.body)
            var changes = WebhookChanges()
            changes.url = try body.string("url", maxLength: WebhookRules.maxURLLength)
            changes.eventTypes = try body.strings("eventTypes")
            if body.has("description") {
                changes.description = .some(
                    try body.string("description", maxLength: WebhookRules.maxDescriptionLength))
            }
            changes.enabled = try body.boolean("enabled")
            try body.finish()
            webhookResponse(.update(id, changes), context)
        case "DELETE":
            try RequestBody(request.body, optional: true).finish()
            webhookResponse(.delete(id), context)
        default:
            let ledger = self.ledger
            authorized(.manageWebhook(id, owner: try owner(of: id)), context) { _ throws(APIError) in
                let hook: Webhook?
                do throws(LedgerError) {
                    hook = try ledger.webhook(id)
                } catch {
                    throw APIError(error)
                }
                guard let hook else { throw .notFound("no webhook \(id)") }
                return ok(200, Envelope.data { WebhookJSON.write(hook, into: &$0) })
            }
        }
    }

    func webhookAction(_ id: WebhookID, _ action: Route.WebhookAction) throws(APIError) {
        let context = try context()
        switch action {
        case .rotateSecret:
            try Query(request.query).finish()
            try RequestBody(request.body, optional: true).finish()
            webhookResponse(.rotateSecret(id), context, secret: try webhookKey())
        case .redeliver:
            try Query(request.query).finish()
            let after = try redeliveryAfter()
            let deliveries = notifications.deliveries
            authorized(.manageWebhook(id, owner: try owner(of: id)), context) { _ throws(APIError) in
                guard let store = deliveries else {
                    throw APIError(.unavailable("this server does not deliver webhooks"))
                }
                do {
                    try store.requestRedelivery(id, after: after)
                } catch {
                    throw APIError(.unavailable("cannot record the redelivery: \(error)"))
                }
                return redeliveryAnswer(id, after: after)
            }
        case .deliveries:
            var query = try Query(request.query)
            let limit = try query.integer("limit", in: 1...1000, default: 100) ?? 100
            let cursor = query.string("cursor")
            try query.finish()
            let before = try cursor.map { text throws(APIError) in
                guard let n = UInt64(text), n > 0 else {
                    throw .invalid("cursor", "not a cursor this endpoint gave out")
                }
                return n
            }
            let store = notifications.deliveries
            authorized(.manageWebhook(id, owner: try owner(of: id)), context) { _ throws(APIError) in
                let page: (attempts: [DeliveryAttempt], more: Bool)
                do {
                    page = try store?.attempts(id, before: before, limit: limit) ?? ([], false)
                } catch {
                    throw APIError(.unavailable("cannot read the deliveries: \(error)"))
                }
                let next = page.more ? page.attempts.last.map { String($0.number) } : nil
                return ok(
                    200,
                    Envelope.list(page.attempts, nextCursor: next) { attempt, w in WebhookJSON.write(attempt, into: &w)
                    })
            }
        }
    }

    /// The `after` of a redelivery's body (the seq its events start after).
    func redeliveryAfter() throws(APIError) -> UInt64 {
        var body = try RequestBody(request.body)
        guard let after = try body.integer("after", in: 0...Int64.max) else { throw .invalid("after", "is required") }
        try body.finish()
        return UInt64(after)
    }

    /// The answer to a redelivery: it is all in the request, so a replay renders it again
    /// from the request's body (which the retry repeats) through this.
    func redeliveryAnswer(_ id: WebhookID, after: UInt64) -> HTTPResponse {
        ok(
            202,
            Envelope.data { w in
                w.beginObject()
                w.field("webhookId", id.description)
                w.key("after")
                w.uint(after)
                w.endObject()
            })
    }
}
