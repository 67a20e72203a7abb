import Events
import HTTP
import Ledger

/// Who is asking: the root token, a local administrator on the Unix socket, or a
/// ledger key (by digest; whether it may act is decided by the ledger, atomically
/// with the command).
enum Principal {
    case root
    case socket(uid: UInt32)
    case key(Digest)

    /// Reads `Authorization: Bearer <secret>` (scheme case-insensitive) or `X-API-Key`.
    static func resolve(_ request: HTTPRequest, ledger: Ledger) throws(APIError) -> Principal {
        if case .unix(_, let uid) = request.peer { return .socket(uid: uid) }
        guard let secret = credential(request.headers) else { throw APIError.unauthorized }
        do {
            if try ledger.isRootToken(secret) { return .root }
        } catch {
            throw APIError(error)
        }
        guard Secret.isWellFormed(secret) else { throw APIError(.unauthorized("the credential is not a known key")) }
        return .key(Secret.digest(secret))
    }

    static func credential(_ headers: HTTPHeaders) -> String? {
        if let authorization = headers["Authorization"] {
            let parts = authorization.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
            guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
            return parts[1].trimmingSpaces
        }
        return headers["X-API-Key"]?.trimmingSpaces
    }

    /// The command context for this principal on this request.
    func context(_ request: HTTPRequest, requestID: String, scope: String, endpoint: String) -> CommandContext {
        var context = CommandContext(
            actor: Actor(kind: .root, id: "root"), ip: request.clientIP, requestID: requestID,
            receivedAtNanos: request.receivedAtNanos)
        switch self {
        case .root: break
        case .socket(let uid): context.actor = Actor(kind: .socket, id: "uid:\(uid)")
        case .key(let digest):
            context.actor = Actor(kind: .key, id: "")
            context.credential = ManagementCredential(digest: digest, scope: scope, endpoint: endpoint)
        }
        return context
    }

    /// Only root and the socket may read the whole log.
    var isAdministrator: Bool {
        if case .key = self { return false }
        return true
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
