import Dispatch
import Events
import HTTP
import Ledger

extension Call {
    /// The principal asking, as ``authenticate(_:_:)`` found it.
    func principal() throws(APIError) -> Principal {
        try authentication.mapError(\.error).get()
    }

    /// The principal asking: the Unix socket's peer, else whatever the credential header
    /// holds, as the ledger reads it. What the principal may do is the ledger's to say.
    static func authenticate(_ request: HTTPRequest, _ ledger: Ledger) -> Result<Principal, AuthenticationFailure> {
        if case .unix(_, let uid) = request.peer { return .success(.socket(uid: uid)) }
        guard let secret = Self.credential(request.headers) else {
            return .failure(AuthenticationFailure(reason: .missing, error: .unauthorized))
        }
        do {
            return .success(try ledger.principal(presenting: secret))
        } catch {
            guard case .unauthorized = error else {
                return .failure(AuthenticationFailure(reason: nil, error: APIError(error)))
            }
            return .failure(AuthenticationFailure(reason: .malformed, error: APIError(error)))
        }
    }

    /// Reads `Authorization: Bearer <secret>` (scheme case-insensitive) or `X-API-Key`.
    static func credential(_ headers: HTTPHeaders) -> String? {
        if let authorization = headers["Authorization"] {
            let parts = authorization.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
            guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
            return parts[1].trimmingSpaces
        }
        return headers["X-API-Key"]?.trimmingSpaces
    }

    /// The command context of this request's principal.
    func context() throws(APIError) -> CommandContext {
        var context = CommandContext(
            principal: try principal(), ip: request.clientIP, requestID: requestID, endpoint: endpoint,
            receivedAtNanos: request.receivedAtNanos)
        context.idempotency = idempotency
        return context
    }

    /// Asks the ledger whether this request's principal may do `action`, then runs
    /// `read` with the grant (its ``Grant/owner`` bounds what `read` may return) and
    /// answers what it returns. A ledger key's decision comes from the writer's thread:
    /// the read then runs on another thread, never on the writer's, and its answer is
    /// recorded (``Ledger/recordUse(_:status:context:completion:)``, which decides the
    /// key's right again) before it is sent. Root and socket reads are recorded by
    /// ``RequestAudit`` as every other request, their writes (a redelivery) here
    /// (``answerWithoutWriter(_:keeping:)``). A query whose `minSeq` wait ran out
    /// (``projectionsBehind``) is decided and recorded the same way, but its granted
    /// read answers that 503 instead of reading.
    func authorized(
        _ action: Action, _ context: CommandContext,
        read reading: @escaping @Sendable (Grant) throws(APIError) -> HTTPResponse
    ) {
        let finish = self.finish
        let behind = projectionsBehind
        let read: @Sendable (Grant) throws(APIError) -> HTTPResponse = { grant throws(APIError) in
            if let behind { throw behind }
            return try reading(grant)
        }
        let answer: @Sendable (Result<Grant, LedgerError>) -> Void = { result in
            switch result {
            case .success(let grant):
                do throws(APIError) {
                    finish(.success(try read(grant)))
                } catch {
                    finish(.failure(error))
                }
            case .failure(let error):
                finish(.failure(APIError(error)))
            }
        }
        guard context.credential != nil else {
            guard request.method != "GET", request.method != "HEAD" else {
                return ledger.authorize(action, context: context, completion: answer)
            }
            // A write no command records (a redelivery): its `ledger.request` is appended
            // before the answer, and keeps the answer of its Idempotency-Key.
            let call = self
            ledger.authorize(action, context: context) { decided in
                call.answerWithoutWriter(
                    decided.mapError(APIError.init).flatMap { grant in Result { () throws(APIError) in try read(grant) }
                    },
                    keeping: context.idempotency)
            }
            return
        }
        let ledger = self.ledger
        ledger.authorize(action, context: context) { decided in
            DispatchQueue.global().async {
                guard case .success(let grant) = decided else { return answer(decided) }
                let response: Result<HTTPResponse, APIError>
                do throws(APIError) {
                    response = .success(try read(grant))
                } catch {
                    response = .failure(error)
                }
                // Bad input leaves nothing; unrecorded actions (metrics) neither.
                let status = response.status
                guard action.isRecorded, status != 400 else { return finish(response) }
                ledger.recordUse(action, status: status, context: context) { recorded in
                    switch recorded {
                    case .success: finish(response)
                    case .failure(let error): finish(.failure(APIError(error)))
                    }
                }
            }
        }
    }
}

/// Why a request is not authenticated: the `auth.failed` reason (nil when the ledger
/// could not tell, e.g. it could not be read) and the answer.
struct AuthenticationFailure: Error {
    var reason: AuthFailed.Reason?
    var error: APIError
}

extension Result<HTTPResponse, APIError> {
    /// The HTTP status this result is answered with.
    var status: Int {
        switch self {
        case .success(let response): response.status
        case .failure(let error): error.status
        }
    }
}

extension HTTPRequest {
    /// The TCP peer's address; nil on the Unix socket.
    var clientIP: IPAddress? {
        if case .tcp(let address) = peer { return IPAddress(address) }
        return nil
    }
}

extension Substring {
    var trimmingSpaces: String {
        String(drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed())
    }
}

extension String {
    var trimmingSpaces: String { self[...].trimmingSpaces }
}
