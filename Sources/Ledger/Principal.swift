public import Events

/// Who asks a management question: the root token, a local administrator on the Unix
/// socket, or a ledger key (by the digest of the secret it presented). Whether it may
/// act is decided by ``Access/authorize(_:_:target:use:now:)``, never by the caller.
public enum Principal: Sendable, Equatable {
    case root
    case socket(uid: UInt32)
    case key(Digest)
}

extension Ledger {
    /// The principal a presented secret stands for: the root token, else a ledger key
    /// (looked up, and checked, by the decision that needs it).
    ///
    /// - Throws: ``LedgerError/unauthorized(_:)`` when the secret is not in KeyLedger's
    ///   format (no lookup is made for it).
    public func principal(presenting secret: String) throws(LedgerError) -> Principal {
        if try isRootToken(secret) { return .root }
        guard Secret.isWellFormed(secret) else { throw .unauthorized("the credential is not a known key") }
        return .key(Secret.digest(secret))
    }
}

extension CommandContext {
    /// The context of a request made by `principal`.
    ///
    /// - Parameters:
    ///   - endpoint: the method and route template (`GET /v1/keys/{id}`) a ledger key's
    ///     recorded use names.
    ///   - receivedAtNanos: monotonic nanoseconds when the request arrived.
    public init(
        principal: Principal, ip: IPAddress?, requestID: String?, endpoint: String, receivedAtNanos: UInt64 = 0
    ) {
        switch principal {
        case .root:
            self.init(
                actor: Actor(kind: .root, id: "root"), ip: ip, requestID: requestID, receivedAtNanos: receivedAtNanos,
                endpoint: endpoint)
        case .socket(let uid):
            self.init(
                actor: Actor(kind: .socket, id: "uid:\(uid)"), ip: ip, requestID: requestID,
                receivedAtNanos: receivedAtNanos, endpoint: endpoint)
        case .key(let digest):
            self.init(
                actor: Actor(kind: .key, id: ""), ip: ip, requestID: requestID,
                credential: ManagementCredential(digest: digest, endpoint: endpoint),
                receivedAtNanos: receivedAtNanos)
        }
    }
}
