import Events
import HTTP
import Ledger

/// The audit record of a management request that nothing else records (API.md "Audit
/// completeness"), appended before its answer is sent: a root or socket read
/// (`ledger.request`, coalesced), a root or socket write the server answered without the
/// writer (`ledger.request`: an idempotent replay or an `Idempotency-Key` conflict,
/// ``Call/answerWithoutWriter(_:)``) and a failed authentication found before the ledger
/// (`auth.failed`). Everything else records itself in the writer's step: commands by
/// their events, refusals by the writer (``Ledger``), a ledger key's reads and replays by
/// ``Call/authorized(_:_:read:)``.
///
/// Not recorded: `/healthz`, `/metrics`, `/v1/verify` (which records its own
/// `key.accessed`), the console's static files (they need no credential), unknown
/// routes, and bad input (400, 405, 413, 415, 431), which API.md says leaves nothing.
struct RequestAudit: Sendable {
    let ledger: Ledger

    /// Records `result` if it must be, then answers it through `deliver`; 503 instead
    /// when the record cannot be appended (fail closed).
    func record(
        _ result: Result<HTTPResponse, APIError>, _ request: HTTPRequest, route: Route, requestID: String,
        authentication: Result<Principal, AuthenticationFailure>, deliver: @escaping Reply
    ) {
        let status = result.status
        guard route.isAudited, ![400, 405, 413, 415, 431].contains(status) else { return deliver(result) }
        switch authentication {
        case .success(let principal):
            // Writes are recorded by their events or, refused, by the writer (or, answered without
            // it, by `Call.answerWithoutWriter`); a key's reads by `authorized`.
            guard request.method == "GET" || request.method == "HEAD", principal.isAdministrator else {
                return deliver(result)
            }
            recordRequest(
                result, request, route: route, requestID: requestID, principal: principal, coalesce: true,
                deliver: deliver)
        case .failure(let failure):
            guard let reason = failure.reason, status == 401 else { return deliver(result) }
            ledger.recordAuthFailure(
                AuthFailed(method: request.method, route: route.template, reason: reason), ip: request.clientIP,
                requestID: requestID, completion: Self.answer(result, deliver))
        }
    }

    /// Appends the `ledger.request` of a root or socket request answered `result` (a read
    /// may be coalesced: `coalesce`), then answers through `deliver`; 503 instead when the
    /// record cannot be appended. With `claim`, the record's commit keeps the answer of
    /// that `Idempotency-Key` (a write the writer did not answer: a redelivery).
    func recordRequest(
        _ result: Result<HTTPResponse, APIError>, _ request: HTTPRequest, route: Route, requestID: String,
        principal: Principal, coalesce: Bool, keeping claim: IdempotencyClaim? = nil, deliver: @escaping Reply
    ) {
        var context = CommandContext(principal: principal, ip: request.clientIP, requestID: requestID, endpoint: "")
        context.idempotency = claim
        let answered = LedgerRequest(
            method: request.method, route: route.template, status: UInt16(clamping: result.status),
            target: route.keyID)
        ledger.recordRequest(answered, context: context, coalesce: coalesce, completion: Self.answer(result, deliver))
    }

    /// Once the record is appended, answers `result`; else the reason it could not be (503).
    private static func answer(
        _ result: Result<HTTPResponse, APIError>, _ deliver: @escaping Reply
    ) -> @Sendable (LedgerError?) -> Void {
        { error in deliver(error.map { .failure(APIError($0)) } ?? result) }
    }
}

extension Principal {
    /// The root token or the Unix socket.
    var isAdministrator: Bool {
        if case .key = self { return false }
        return true
    }
}

extension Route {
    /// True for the management routes whose every authenticated request is recorded;
    /// false for the health check, metrics scrapes, verification and the console's files.
    var isAudited: Bool {
        switch self {
        case .healthz, .metrics, .verify, .console: false
        default: true
        }
    }

    /// True when the route asks for a management credential.
    var authenticates: Bool {
        switch self {
        case .healthz, .verify, .console: false
        default: true
        }
    }

    /// The key the path names.
    var keyID: KeyID? {
        switch self {
        case .key(let id), .keyAction(let id, _), .keyView(let id, _): id
        default: nil
        }
    }
}
