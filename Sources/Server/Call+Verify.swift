import Events
import HTTP
import JSON
import Ledger
import Projections

extension Call {
    /// `POST /v1/verify` with a query string (which it refuses unless empty); the usual
    /// request takes ``APIResponder/verify(_:reply:)``, which renders on the event loop.
    func verify() throws(APIError) {
        try Query(request.query).finish()
        let finish = self.finish
        let ledger = self.ledger
        let fragments = verifyFragments
        try Self.verification(request, requestID: requestID) { secret, verify, context in
            ledger.verify(secret: secret, verify, context: context) { result in
                finish(Self.answer(result, fragments: fragments))
            }
        }
    }

    /// Reads and checks a verification's body and context, and hands them to `use`
    /// (borrowed, so neither is copied on the way): the secret goes no further than the
    /// digest the ledger makes of it.
    static func verification<R>(
        _ request: HTTPRequest, requestID: String,
        _ use: (_ secret: String, _ verify: VerifyRequest, _ context: CommandContext) -> R
    ) throws(APIError) -> R {
        let body = try VerifyBody(request.body)
        guard let secret = try RequestBody.string(body.key, "key", required: true, maxLength: 256), !secret.isEmpty
        else {
            throw .invalid("key", "must be a non-empty string")
        }
        // Each member read into a local and the request made once from them: setting a
        // made request's fields one by one releases each default it replaces.
        let scope = try RequestBody.string(body.scope, "scope", maxLength: 128)
        let scopes = try RequestBody.strings(body.scopes, "scopes") ?? []
        guard scopes.count <= KeyRules.maxScopes else {
            throw .invalid("scopes", "at most \(KeyRules.maxScopes) entries")
        }
        for (i, scope) in scopes.enumerated() where scope.isEmpty || scope.utf8.count > 128 {
            throw .invalid("scopes[\(i)]", "must be 1 to 128 characters")
        }
        let environment = try RequestBody.string(body.environment, "environment", maxLength: 15)
        let account = try RequestBody.string(body.account, "account", maxLength: 128)
        var ip: IPAddress?
        if let text = try RequestBody.string(body.ip, "ip", maxLength: 64) {
            guard let address = IPAddress(text) else { throw .invalid("ip", "must be an IPv4 or IPv6 address") }
            ip = address
        }
        let endpoint = try RequestBody.string(body.endpoint, "endpoint", maxLength: 256)
        let cost = UInt32(try RequestBody.integer(body.cost, "cost", in: 0...1_000_000) ?? 1)
        try RequestBody.refuseUnknown(body.unknownField)
        if scope?.isEmpty == true { throw .invalid("scope", "must not be empty") }
        if account?.isEmpty == true { throw .invalid("account", "must not be empty") }
        if environment?.isEmpty == true { throw .invalid("environment", "must not be empty") }
        let verify = VerifyRequest(
            scope: scope, scopes: scopes, environment: environment, account: account, ip: ip, endpoint: endpoint,
            cost: cost)
        let actor =
            if case .unix(_, let uid) = request.peer { Actor(kind: .socket, id: "uid:\(uid)") } else {
                Actor(kind: .root, id: "root")
            }
        let context = CommandContext(
            actor: actor, ip: ip, requestID: requestID, receivedAtNanos: request.receivedAtNanos)
        return use(secret, verify, context)
    }

    /// The answer to a verification the ledger decided, its body written by
    /// ``VerifyAnswerBody`` with `fragments`.
    static func answer(_ result: borrowing Result<VerifyResult, LedgerError>, fragments: VerifyFragments)
        -> Result<
            HTTPResponse, APIError
        >
    {
        switch result {
        case .success(let verdict):
            // Room for the two fields ``APIResponder/complete`` adds, so it does not regrow.
            var headers: [(name: String, value: String)] = []
            headers.reserveCapacity(3)
            headers.append(("Content-Type", "application/json"))
            let body = VerifyAnswerBody.render(verdict, fragments: fragments)
            return .success(HTTPResponse(status: 200, headers: headers, body: body))
        case .failure(let error): return .failure(APIError(error))
        }
    }
}
