public import Events

/// Where a key is in its life.
public enum KeyStatus: UInt8, Sendable, CaseIterable {
    case active = 0
    case suspended = 1
    case revoked = 2
    case expired = 3

    public var wireName: String {
        switch self {
        case .active: "active"
        case .suspended: "suspended"
        case .revoked: "revoked"
        case .expired: "expired"
        }
    }

    public init?(wireName: some StringProtocol) {
        guard let match = Self.allCases.first(where: { $0.wireName == wireName }) else { return nil }
        self = match
    }

    /// Revoked and expired keys accept no further change.
    public var isFinal: Bool { self == .revoked || self == .expired }
}

extension KeyState {
    /// The key's status as of `now`: a key whose expiry has passed is `expired` at once,
    /// before the sweeper (or a verification) records `key.expired`. Every decision,
    /// every rendering and every list filter asks this, never ``status`` alone.
    public func status(at now: Int64) -> KeyStatus {
        if !status.isFinal, let at = expiresAt, at <= now { return .expired }
        return status
    }
}

extension KeyState {
    /// The fields a key's index rows are made of (secret digests, expiry), as a written
    /// row had them: what writing the row again needs to move its index entries.
    public struct Indexed: Sendable, Equatable {
        let secretDigest: Digest
        let previousSecretDigest: Digest?
        let expiresAt: Int64?
        let status: KeyStatus
    }

    public var indexed: Indexed {
        Indexed(
            secretDigest: secretDigest, previousSecretDigest: previousSecretDigest, expiresAt: expiresAt,
            status: status)
    }
}

/// The sliding-window counter of one rate limit: granted requests in the current fixed
/// window and in the one before it. The estimate over the last `window` is the current
/// count plus the previous count weighted by how much of it the sliding window still
/// covers (the approach of Cloudflare's and Unkey's limiters), exact within a window.
public struct RateWindow: Equatable, Sendable {
    /// Start of the current fixed window, µs since the epoch, a multiple of the window.
    public var start: Int64
    public var current: UInt64
    public var previous: UInt64

    public init(start: Int64 = 0, current: UInt64 = 0, previous: UInt64 = 0) {
        self.start = start
        self.current = current
        self.previous = previous
    }

    /// This counter moved forward to the fixed window holding `time`.
    public func rolled(to time: Int64, windowMicros: Int64) -> RateWindow {
        let aligned = time - ((time % windowMicros) + windowMicros) % windowMicros
        if aligned <= start { return self }
        if aligned == start + windowMicros { return RateWindow(start: aligned, current: 0, previous: current) }
        return RateWindow(start: aligned, current: 0, previous: 0)
    }

    /// Granted requests counted in the sliding window ending at `time` (rounded up).
    /// - Precondition: `self` was rolled to `time`.
    public func estimate(at time: Int64, windowMicros: Int64) -> UInt64 {
        let remaining = UInt64(max(0, windowMicros - (time - start)))
        let product = previous.multipliedFullWidth(by: remaining)
        let (quotient, remainder) = UInt64(windowMicros).dividingFullWidth(product)
        return current + quotient + (remainder > 0 ? 1 : 0)
    }
}

/// The current state of one key: everything the API shows, plus what verification
/// needs (secret digests, rate-limit windows, credits).
public struct KeyState: Equatable, Sendable {
    public var id: KeyID
    public var owner: String
    public var name: String
    public var prefix: String
    public var environment: String
    public var status: KeyStatus
    public var scopes: [String]
    public var accounts: [String]
    public var ipAllowlist: [CIDR]
    public var expiresAt: Int64?
    public var rateLimits: [RateLimit]
    /// One counter per rate limit, same order.
    public var windows: [RateWindow]
    public var credits: Int64?
    public var metadata: [String: String]
    public var createdAt: Int64
    public var lastUsedAt: Int64?
    public var rotatedAt: Int64?
    /// Events on the key other than accesses.
    public var version: UInt64
    /// Every event of the key's stream so far, accesses included (0 in rows written
    /// before this was counted). Snapshots for state-at are taken every
    /// ``KeyStateProjection/snapshotInterval`` of these.
    public var events: UInt64
    public var secretDigest: Digest
    public var previousSecretDigest: Digest?
    public var previousSecretExpiresAt: Int64?

    /// A state with every field given (what the writer's compact decision state is
    /// expanded to, with no intermediate ``KeyCreated``).
    public init(
        id: KeyID, owner: String, name: String, prefix: String, environment: String, status: KeyStatus,
        scopes: [String], accounts: [String], ipAllowlist: [CIDR], expiresAt: Int64?, rateLimits: [RateLimit],
        windows: [RateWindow], credits: Int64?, metadata: [String: String], createdAt: Int64, lastUsedAt: Int64?,
        rotatedAt: Int64?, version: UInt64, events: UInt64, secretDigest: Digest, previousSecretDigest: Digest?,
        previousSecretExpiresAt: Int64?
    ) {
        self.id = id
        self.owner = owner
        self.name = name
        self.prefix = prefix
        self.environment = environment
        self.status = status
        self.scopes = scopes
        self.accounts = accounts
        self.ipAllowlist = ipAllowlist
        self.expiresAt = expiresAt
        self.rateLimits = rateLimits
        self.windows = windows
        self.credits = credits
        self.metadata = metadata
        self.createdAt = createdAt
        self.lastUsedAt = lastUsedAt
        self.rotatedAt = rotatedAt
        self.version = version
        self.events = events
        self.secretDigest = secretDigest
        self.previousSecretDigest = previousSecretDigest
        self.previousSecretExpiresAt = previousSecretExpiresAt
    }

    /// A key as `key.created` makes it.
    public init(id: KeyID, owner: String, created c: KeyCreated, at time: Int64) {
        self.id = id
        self.owner = owner
        name = c.name
        prefix = c.prefix
        environment = c.environment
        status = .active
        scopes = c.scopes
        accounts = c.accounts
        ipAllowlist = c.ipAllowlist
        expiresAt = c.expiresAt
        rateLimits = c.rateLimits
        windows = Array(repeating: RateWindow(), count: c.rateLimits.count)
        credits = c.credits
        metadata = c.metadata
        createdAt = time
        version = 1
        events = 1
        secretDigest = c.secretDigest
    }
}
