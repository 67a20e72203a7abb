import Events
import HTTP
import JSON
import Ledger
import Notify
import Projections
import Rendering

extension Call {
    /// Dispatches the request, honouring `Idempotency-Key` on management POST, PATCH and
    /// DELETE (API.md, "Idempotency"): a retry of a committed command by the same
    /// principal gets the first answer (`Idempotent-Replayed: true`) and no second
    /// effect; the same key with another method, path or body, or while the first is in
    /// flight, is 409. Only commands that took effect are kept: a refused request may be
    /// retried with the same key.
    ///
    /// A ledger key's replay is decided again, as a read of what it hands out
    /// (``replayAction(_:)``), through ``authorized(_:_:read:)``: a key revoked,
    /// suspended, expired, stripped of its scope or outside its allowlist since gets the
    /// refusal and nothing of the first answer, and every replay is recorded like any
    /// read; so is its retry with another request (409), decided as its replay would be.
    /// The root token and the socket may do everything: theirs are answered at once, and
    /// recorded (``answerWithoutWriter(_:)``).
    func dispatchOnce() throws(APIError) {
        guard let header = request.headers["Idempotency-Key"], ["POST", "PATCH", "DELETE"].contains(request.method),
            route != .verify
        else { return try dispatch() }
        guard (1...255).contains(header.utf8.count), header.utf8.allSatisfy({ $0 >= 0x20 && $0 <= 0x7E }) else {
            throw .invalid("Idempotency-Key", "must be 1 to 255 printable ASCII characters")
        }
        let principal = try principal()
        let claim = IdempotencyClaim(
            key: Self.digest([Array(Self.principalName(principal).utf8), Array(header.utf8)]),
            fingerprint: Self.digest([
                Array(request.method.utf8), Array(request.path.utf8), Array(request.query.utf8), request.body,
            ]))
        guard gate.begin(claim.key) else {
            return answerWithoutWriter(
                .failure(
                    APIError(
                        status: 409, code: "CONFLICT",
                        message: "a request with this Idempotency-Key is still in flight")))
        }
        var once = self
        once.idempotency = claim
        let (gate, finish) = (self.gate, self.finish)
        once.finish = { result in
            gate.end(claim.key)
            finish(result)
        }
        do throws(APIError) {
            let kept: IdempotentAnswer?
            do throws(LedgerError) {
                kept = try ledger.idempotentAnswer(claim.key)
            } catch {
                throw APIError(error)
            }
            guard let kept else { return try once.dispatch() }
            let conflict = APIError(
                status: 409, code: "CONFLICT",
                message: "this Idempotency-Key was used for another request (method, path or body differ)")
            // Root and the socket may do everything.
            guard case .key = principal else {
                guard kept.fingerprint == claim.fingerprint else { return once.answerWithoutWriter(.failure(conflict)) }
                return once.answerWithoutWriter(Result { () throws(APIError) in try once.replay(kept) })
            }
            let action = try replayAction(kept)
            let replaying = once
            // This request's own context carries no claim: deciding the replay keeps no answer.
            once.authorized(action, try context()) { _ throws(APIError) in
                guard kept.fingerprint == claim.fingerprint else { throw conflict }
                return try replaying.replay(kept)
            }
        } catch {
            once.finish(.failure(error))
        }
    }

    /// Answers a root or socket request that the server answered itself, without the
    /// writer (a replay, a claim's 409, a redelivery), once its `ledger.request` is
    /// appended (it appended nothing else); any other principal's at once. A success
    /// answered `keeping` a claim is kept as that claim's answer, in the record's commit.
    func answerWithoutWriter(_ result: Result<HTTPResponse, APIError>, keeping claim: IdempotencyClaim? = nil) {
        guard case .success(let principal) = authentication, principal.isAdministrator else { return finish(result) }
        let kept = (200..<300).contains(result.status) ? claim : nil
        RequestAudit(ledger: ledger).recordRequest(
            result, request, route: route, requestID: requestID, principal: principal, coalesce: false, keeping: kept,
            deliver: finish)
    }

    /// The right a replay of `kept` needs, by what it hands out. A create's or a
    /// rotation's answer carries the key's secret, which is a rotation's worth: it needs
    /// the right to rotate that key now (``Action/rotateKey(_:)``: the key's owner,
    /// `ledger:keys`, and no `ledger:` scope on the key that the credential lacks), or
    /// for a self-rotation the right to rotate itself (``Action/rotateSelf(allowed:)``,
    /// with the key's current `selfRotate`: the old secret the retry presents must
    /// still be usable, within its grace period). Every other answer is the kept key as
    /// it was: the right to read it (``Action/readKey(_:)``) suffices and is needed.
    /// A replay that would be 409 because the secret is gone asks the same right: it
    /// names the key.
    ///
    /// A webhook's answer (its secret too: a rotation is the same right) needs the right
    /// to manage it now (``Action/manageWebhook(_:owner:)``, which the writer decides
    /// with the webhook's owner now: one deleted since is not found), except for the
    /// delete's own replay: the webhook is gone by that very request, so it needs the
    /// right to manage the webhooks of its owner (``Action/listWebhooks(owner:)``; a
    /// webhook's owner never changes). A redelivery's needs the right to manage the
    /// webhook it names.
    func replayAction(_ kept: IdempotentAnswer) throws(APIError) -> Action {
        switch kept.subject {
        case .key(let key):
            switch route {
            case .keys, .keyAction(_, .rotate): return .rotateKey(key.id)
            // The writer decides `allowed` from the key's current `selfRotate`.
            case .selfRotate: return .rotateSelf(allowed: false)
            default: return .readKey(key.id)
            }
        case .webhook(let hook):
            guard request.method != "DELETE" else { return .listWebhooks(owner: hook.owner) }
            return .manageWebhook(hook.id, owner: hook.owner)
        case .leaks:
            return .reportLeaks
        case nil:
            let id = try redeliveredWebhook()
            return .manageWebhook(id, owner: try owner(of: id))
        }
    }

    /// The first answer again, rendered as it was (at its decision time), by the function
    /// that rendered it the first time.
    func replay(_ kept: IdempotentAnswer) throws(APIError) -> HTTPResponse {
        var response: HTTPResponse
        switch kept.subject {
        case .key(let key): response = try replay(key, at: kept.time)
        case .webhook(let hook): response = try replay(hook)
        case .leaks(let labels): response = leakAnswer(try Self.leakReports(request.body), labels)
        case nil: response = redeliveryAnswer(try redeliveredWebhook(), after: try redeliveryAfter())
        }
        response.headers.append(("Idempotent-Replayed", "true"))
        return response
    }

    /// The webhook of a kept answer that names nothing but the request: a redelivery's.
    func redeliveredWebhook() throws(APIError) -> WebhookID {
        guard case .webhookAction(let id, .redeliver) = route else {
            throw .init(.unavailable("the kept answer names nothing to answer \(route.template) with"))
        }
        return id
    }

    /// A key command's first answer again.
    func replay(_ key: KeyState, at time: Int64) throws(APIError) -> HTTPResponse {
        func secret() throws(APIError) -> String {
            guard let claim = idempotency, let secret = gate.secret(for: claim.key, now: ledger.clock.now()) else {
                throw APIError(
                    status: 409, code: "CONFLICT",
                    message: "the first request with this Idempotency-Key made key \(key.id); its secret is shown "
                        + "only once and this server no longer holds it: rotate key \(key.id) for a new one")
            }
            return secret
        }
        switch (route, request.method) {
        case (.keys, _):
            return ok(201, keyWithSecret(key, try secret(), now: time), headers: [KeyJSON.etag(key)])
        case (.keyAction(_, .rotate), _), (.selfRotate, _):
            let body = keyWithSecret(key, try secret(), now: time, previousSecretExpiresAt: key.previousSecretExpiresAt)
            return ok(200, body, headers: [KeyJSON.etag(key)])
        case (.importKeys, _):
            return ok(
                201,
                Envelope.data {
                    KeyJSON.write(key, quota: (try? ledger.keyQuota(key.id)) ?? nil, now: time, into: &$0)
                },
                headers: [KeyJSON.etag(key)])
        case (.key, "DELETE"):
            return ok(200, Array(#"{"success":true,"message":"API key revoked successfully"}"#.utf8))
        default:
            return ok(
                200,
                Envelope.data {
                    KeyJSON.write(key, quota: (try? ledger.keyQuota(key.id)) ?? nil, now: time, into: &$0)
                },
                headers: [KeyJSON.etag(key)])
        }
    }

    /// A webhook command's first answer again. A create's or a rotation's carries the
    /// secret it answered, derived again from the webhook key and the kept webhook's
    /// secret version (no secret is kept): the same secret, after a restart too; once
    /// rotated since, it is the first answer's, no longer the one deliveries are signed
    /// with.
    func replay(_ hook: Webhook) throws(APIError) -> HTTPResponse {
        switch route {
        case .webhooks: return webhookAnswer(201, hook, secret: try webhookKey())
        case .webhookAction(_, .rotateSecret): return webhookAnswer(200, hook, secret: try webhookKey())
        default: return webhookAnswer(200, hook, secret: nil)
        }
    }

    /// Who a claim belongs to: the root token, a socket peer, or the credential presented.
    static func principalName(_ principal: Principal) -> String {
        switch principal {
        case .root: "root"
        case .socket(let uid): "uid:\(uid)"
        case .key(let digest): "key:\(digest.hex)"
        }
    }

    /// SHA-256 over the parts, each preceded by its length (so no two lists collide).
    static func digest(_ parts: [[UInt8]]) -> Digest {
        var bytes: [UInt8] = []
        for part in parts {
            withUnsafeBytes(of: UInt64(part.count).bigEndian) { bytes.append(contentsOf: $0) }
            bytes.append(contentsOf: part)
        }
        return bytes.withUnsafeBytes { Digest.sha256($0) }
    }
}
