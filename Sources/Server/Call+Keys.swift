import Events
import HTTP
import JSON
import Ledger
import Projections
import Rendering

extension Call {
    func keyResponse(_ status: Int, _ key: KeyState) -> HTTPResponse {
        let now = ledger.clock.now()
        let quota = try? ledger.keyQuota(key.id)
        return ok(
            status, Envelope.data { KeyJSON.write(key, quota: quota ?? nil, now: now, into: &$0) },
            headers: [KeyJSON.etag(key)])
    }

    /// Runs a key command and answers with the key.
    func submit(_ command: Command, _ context: CommandContext) {
        let finish = self.finish
        ledger.submit(command, context: context) { result in
            switch result {
            case .success(.key(let key)): finish(.success(keyResponse(200, key)))
            case .success: finish(.failure(APIError(.unavailable("unexpected outcome"))))
            case .failure(let error): finish(.failure(APIError(error)))
            }
        }
    }

    /// `{"key": ..., "secret": ...}` (and the rotation's `previousSecretExpiresAt`): the
    /// only answers that ever carry a secret.
    func keyWithSecret(_ key: KeyState, _ secret: String, now: Int64, previousSecretExpiresAt: Int64?? = nil) -> [UInt8]
    {
        Envelope.data { w in
            w.beginObject()
            w.key("key")
            KeyJSON.write(key, quota: (try? ledger.keyQuota(key.id)) ?? nil, now: now, into: &w)
            w.field("secret", secret)
            if let previous = previousSecretExpiresAt { w.field("previousSecretExpiresAt", timestamp: previous) }
            w.endObject()
        }
    }

    /// The quota fields of a create (or import) body.
    func readQuotaFields(_ spec: inout KeySpec, _ body: inout RequestBody) throws(APIError) {
        spec.quota.plan = try body.string("plan", maxLength: 128)
        spec.quota.refill = try body.refill("refill") ?? nil
        spec.quota.selfRotate = try body.boolean("selfRotate") ?? false
        spec.quota.purgeAfterSeconds = try body.integer("purgeAfterSeconds", in: 0...OwnerRules.maxPurgeAfterSeconds)
    }

    func createKey() throws(APIError) {
        let context = try context()
        try Query(request.query).finish()
        var body = try RequestBody(request.body)
        let spec = try keySpec(&body)
        try body.finish()
        let finish = self.finish
        let now = ledger.clock.now()
        let (gate, claim) = (self.gate, idempotency)
        ledger.createKey(spec, context: context) { result in
            switch result {
            case .success(let (key, secret)):
                if let claim { gate.keep(secret, for: claim.key, at: now) }
                finish(.success(ok(201, keyWithSecret(key, secret, now: now), headers: [KeyJSON.etag(key)])))
            case .failure(let error):
                finish(.failure(APIError(error)))
            }
        }
    }

    /// The fields of a create (or import) body.
    func keySpec(_ body: inout RequestBody) throws(APIError) -> KeySpec {
        var spec = KeySpec(
            owner: try body.string("owner", required: true) ?? "", name: try body.string("name", required: true) ?? "")
        spec.prefix = try body.string("prefix")
        spec.environment = try body.string("environment")
        spec.scopes = try body.strings("scopes") ?? []
        spec.accounts = try body.strings("accounts") ?? []
        spec.ipAllowlist = try body.cidrs("ipAllowlist") ?? []
        spec.expiresAt = try body.time("expiresAt") ?? nil
        spec.ttlSeconds = try body.integer("ttlSeconds", in: 1...KeyRules.maxTTLSeconds)
        spec.rateLimits = try body.rateLimits("rateLimits") ?? []
        spec.credits = try body.integer("credits", in: 0...KeyRules.maxCredits)
        spec.metadata = (try body.metadata("metadata", nullDeletes: false) ?? [:]).compactMapValues { $0 }
        try readQuotaFields(&spec, &body)
        return spec
    }

    func listKeys() throws(APIError) {
        let context = try context()
        var query = try Query(request.query)
        let owner = query.string("owner")
        let statusText = query.string("status")
        let limit = try query.integer("limit", in: 1...1000, default: 100) ?? 100
        let cursor = query.string("cursor")
        let expiresBefore = try time(&query, "expiresBefore")
        let sort = query.string("sort")
        try query.finish()
        if let owner { try Self.checkOwner(owner) }
        guard sort == nil || sort == "expiresAt" || sort == "id" else {
            throw .invalid("sort", "must be expiresAt (soonest first) or id (newest first, the default)")
        }
        let status = try statusText.map { text throws(APIError) in
            guard let s = KeyStatus(wireName: text) else {
                throw .invalid("status", "must be one of active, suspended, revoked, expired")
            }
            return s
        }
        if expiresBefore != nil || sort == "expiresAt" {
            try listKeysByExpiry(
                context, owner: owner, status: status, expiresBefore: expiresBefore, cursor: cursor, limit: limit)
            return
        }
        let before = try cursor.map { cursor throws(APIError) in
            guard let bytes = Base64URL.decode(cursor), bytes.count == 16,
                let id = bytes.withUnsafeBytes({ KeyID(bytes: $0) })
            else {
                throw .invalid("cursor", "not a cursor this endpoint gave out")
            }
            return id
        }
        let ledger = self.ledger
        authorized(.listKeys(owner: owner), context) { grant throws(APIError) in
            let page: (keys: [KeyState], more: Bool)
            do throws(LedgerError) {
                page = try ledger.listKeys(owner: grant.owner ?? owner, status: status, before: before, limit: limit)
            } catch {
                throw APIError(error)
            }
            let now = ledger.clock.now()
            let next = page.more ? page.keys.last.map { Base64URL.encode($0.id.bytes) } : nil
            // Purged keys leave lists (a page may then hold fewer than `limit`).
            let quotas = page.keys.map { (try? ledger.keyQuota($0.id)) ?? nil }
            let shown = zip(page.keys, quotas).filter { $0.1?.isPurged != true }
            return ok(
                200,
                Envelope.list(shown, nextCursor: next) { pair, w in
                    KeyJSON.write(pair.0, quota: pair.1, now: now, into: &w)
                })
        }
    }

    static func checkOwner(_ owner: String) throws(APIError) {
        do {
            try KeyRules.owner(owner)
        } catch {
            throw APIError(error)
        }
    }

    func getKey(_ id: KeyID) throws(APIError) {
        let context = try context()
        try Query(request.query).finish()
        let ledger = self.ledger
        authorized(.readKey(id), context) { _ throws(APIError) in
            let key: KeyState?
            do throws(LedgerError) {
                key = try ledger.key(id)
            } catch {
                throw APIError(error)
            }
            guard let key, (try? ledger.keyQuota(id))??.isPurged != true else { throw .notFound("no key \(id)") }
            return keyResponse(200, key)
        }
    }

    func updateKey(_ id: KeyID) throws(APIError) {
        let context = try context()
        try Query(request.query).finish()
        var expected: UInt64?
        if let match = request.headers["If-Match"] {
            let digits = match.trimmingSpaces.trimmingQuotes
            guard let version = UInt64(digits), digits.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else {
                throw .invalid("If-Match", "must be the key's version, e.g. \"7\"")
            }
            expected = version
        }
        var body = try RequestBody(request.body)
        var changes = KeyChanges()
        changes.name = try body.string("name")
        changes.scopes = try body.strings("scopes")
        changes.accounts = try body.strings("accounts")
        changes.ipAllowlist = try body.cidrs("ipAllowlist")
        changes.expiresAt = try body.time("expiresAt")
        changes.rateLimits = try body.rateLimits("rateLimits")
        changes.metadata = try body.metadata("metadata", nullDeletes: true)
        changes.plan = try body.nullableString("plan")
        changes.refill = try body.refill("refill")
        changes.selfRotate = try body.boolean("selfRotate")
        changes.purgeAfterSeconds = try body.nullableInteger("purgeAfterSeconds", in: 0...OwnerRules.maxPurgeAfterSeconds)
        if body.has("name"), changes.name == nil { throw .invalid("name", "must be a string") }
        try body.finish()
        submit(.update(id, changes, expectedVersion: expected), context)
    }

    func revokeKey(_ id: KeyID) throws(APIError) {
        let context = try context()
        try Query(request.query).finish()
        var body = try RequestBody(request.body, optional: true)
        let reason = try body.string("reason", maxLength: KeyRules.maxReasonLength)
        try body.finish()
        let finish = self.finish
        ledger.submit(.revoke(id, reason: reason), context: context) { result in
            switch result {
            case .success:
                finish(.success(ok(200, Array(#"{"success":true,"message":"API key revoked successfully"}"#.utf8))))
            case .failure(let error):
                finish(.failure(APIError(error)))
            }
        }
    }

    func keyAction(_ id: KeyID, _ action: Route.KeyAction) throws(APIError) {
        let context = try context()
        try Query(request.query).finish()
        var body = try RequestBody(request.body, optional: true)
        switch action {
        case .suspend:
            let reason = try body.string("reason", maxLength: KeyRules.maxReasonLength)
            try body.finish()
            submit(.suspend(id, reason: reason), context)
        case .reactivate:
            try body.finish()
            submit(.reactivate(id), context)
        case .credits:
            let add = try body.integer("add", in: 1...KeyRules.maxCredits)
            let set = try body.integer("set", in: 0...KeyRules.maxCredits)
            let subtract = try body.integer("subtract", in: 0...KeyRules.maxCredits)
            try body.finish()
            switch (add, set, subtract) {
            case (let add?, nil, nil): submit(.addCredits(id, amount: add), context)
            case (nil, let set?, nil): submit(.setCredits(id, balance: set), context)
            case (nil, nil, let subtract?): submit(.subtractCredits(id, amount: subtract), context)
            default: throw .invalid("add", "give exactly one of add, set, subtract")
            }
        case .rotate:
            let grace = try body.integer("gracePeriodSeconds", in: 0...KeyRules.maxGraceSeconds) ?? 0
            try body.finish()
            let finish = self.finish
            let now = ledger.clock.now()
            let (gate, claim) = (self.gate, idempotency)
            ledger.rotateKey(id, gracePeriodSeconds: grace, context: context) { result in
                switch result {
                case .success(let (key, secret)):
                    if let claim { gate.keep(secret, for: claim.key, at: now) }
                    let body = keyWithSecret(
                        key, secret, now: now, previousSecretExpiresAt: key.previousSecretExpiresAt)
                    finish(.success(ok(200, body, headers: [KeyJSON.etag(key)])))
                case .failure(let error):
                    finish(.failure(APIError(error)))
                }
            }
        }
    }
}

extension Call {
    /// `POST /v1/keys/self/rotate`: the credential is the key's own secret.
    func selfRotate() throws(APIError) {
        let context = try context()
        try Query(request.query).finish()
        var body = try RequestBody(request.body, optional: true)
        let grace = try body.integer("gracePeriodSeconds", in: 0...KeyRules.maxGraceSeconds) ?? 0
        try body.finish()
        guard context.credential != nil else {
            throw .invalid("Authorization", "self-rotation takes the key's own secret as the credential")
        }
        let finish = self.finish
        let now = ledger.clock.now()
        let (gate, claim) = (self.gate, idempotency)
        ledger.rotateSelf(gracePeriodSeconds: grace, context: context) { result in
            switch result {
            case .success(let (key, secret)):
                if let claim { gate.keep(secret, for: claim.key, at: now) }
                let body = keyWithSecret(key, secret, now: now, previousSecretExpiresAt: key.previousSecretExpiresAt)
                finish(.success(ok(200, body, headers: [KeyJSON.etag(key)])))
            case .failure(let error):
                finish(.failure(APIError(error)))
            }
        }
    }
}

extension String {
    var trimmingQuotes: String {
        hasPrefix("\"") && hasSuffix("\"") && count >= 2 ? String(dropFirst().dropLast()) : self
    }
}
