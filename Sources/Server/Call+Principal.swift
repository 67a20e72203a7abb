import Dispatch
import Events
import HTTP
import Ledger

extension Call {
    /// The principal asking: the Unix socket's peer, else whatever the credential header
    /// holds, as the ledger reads it. What the principal may do is the ledger's to say.
    func principal() throws(APIError) -> Principal {
        if case .unix(_, let uid) = request.peer { return .socket(uid: uid) }
        guard let secret = Self.credential(request.headers) else { throw APIError.unauthorized }
        do {
            return try ledger.principal(presenting: secret)
        } catch {
            throw APIError(error)
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
    /// the read then runs on another thread, never on the writer's.
    func authorized(
        _ action: Action, _ context: CommandContext,
        read: @escaping @Sendable (Grant) throws(APIError) -> HTTPResponse
    ) {
        let finish = self.finish
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
        if context.credential == nil {
            ledger.authorize(action, context: context, completion: answer)
        } else {
            ledger.authorize(action, context: context) { result in DispatchQueue.global().async { answer(result) } }
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
