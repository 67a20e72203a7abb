/// A root or Unix-socket management request that appended nothing else (API.md, "Audit
/// completeness"): a read, or a refused write. Identical reads (same actor, method,
/// route and status) are coalesced: one record stands for `count` requests.
public struct LedgerRequest: Equatable, Sendable {
    /// The HTTP method, e.g. `GET`.
    public var method: String
    /// The route template, e.g. `/v1/keys/{id}/logs`.
    public var route: String
    /// The HTTP status answered (100...599).
    public var status: UInt16
    /// The key the requests named in their path, when every request counted named the same one.
    public var target: KeyID?
    /// How many requests the record stands for (at least 1).
    public var count: UInt64

    public init(method: String, route: String, status: UInt16, target: KeyID? = nil, count: UInt64 = 1) {
        self.method = method
        self.route = route
        self.status = status
        self.target = target
        self.count = count
    }
}

/// A failed authentication (HTTP 401). Never holds the credential. A record counting
/// more than one failure (the per-address summary) keeps only the facts all of them
/// share: the others are nil.
public struct AuthFailed: Equatable, Sendable {
    /// Why the credential was refused. Raw values are the codec's (0 is "several").
    public enum Reason: UInt8, CaseIterable, Sendable {
        /// No credential header, or an `Authorization` that is not `Bearer <secret>`.
        case missing = 1
        /// Not in KeyLedger's secret format (or a bad checksum): no lookup was made.
        case malformed = 2
        /// Well formed, but no key has that secret (or a rotated secret's grace is over).
        case unknown = 3
        case revoked = 4
        case suspended = 5
        case expired = 6

        public var wireName: String {
            switch self {
            case .missing: "missing"
            case .malformed: "malformed"
            case .unknown: "unknown"
            case .revoked: "revoked"
            case .suspended: "suspended"
            case .expired: "expired"
            }
        }
    }

    public var method: String?
    /// The route template, e.g. `/v1/audit`.
    public var route: String?
    public var reason: Reason?
    /// The key the credential opened, when it was a known (revoked, suspended or expired) key.
    public var keyID: KeyID?
    /// How many failures the record stands for (at least 1).
    public var count: UInt64

    public init(method: String?, route: String?, reason: Reason?, keyID: KeyID? = nil, count: UInt64 = 1) {
        self.method = method
        self.route = route
        self.reason = reason
        self.keyID = keyID
        self.count = count
    }

    /// The facts `self` and `other` share, counting both.
    public func merged(with other: AuthFailed) -> AuthFailed {
        AuthFailed(
            method: method == other.method ? method : nil, route: route == other.route ? route : nil,
            reason: reason == other.reason ? reason : nil, keyID: keyID == other.keyID ? keyID : nil,
            count: count + other.count)
    }
}

extension EventPayload {
    /// The route template a management request's record names (`ledger.request`,
    /// `auth.failed`, a ledger key's `key.accessed`), without its method; nil for any
    /// other event (a verification's access names the gateway's endpoint, not a route).
    public var managementRoute: String? {
        switch self {
        case .request(let r):
            return r.route
        case .authFailed(let f):
            return f.route
        case .accessed(let a):
            guard a.status != nil, let endpoint = a.endpoint, let space = endpoint.utf8.firstIndex(of: 0x20) else {
                return nil
            }
            return String(endpoint[endpoint.index(after: space)...])
        default:
            return nil
        }
    }
}
