public import Events
public import Projections

/// A management request sent with an `Idempotency-Key` (API.md, "Idempotency"): the
/// writer keeps the answer of the command it carries, in the commit that holds the
/// command's events, so a retry finds it even after a restart.
public struct IdempotencyClaim: Sendable, Equatable {
    /// SHA-256 of the principal and the client's key: the record's name.
    public var key: Digest
    /// SHA-256 of the method, path and body: a retry must repeat them exactly.
    public var fingerprint: Digest

    public init(key: Digest, fingerprint: Digest) {
        self.key = key
        self.fingerprint = fingerprint
    }
}

/// The first answer to an idempotent request, as kept (never with a secret or a digest).
public struct IdempotentAnswer: Sendable, Equatable {
    public var fingerprint: Digest
    /// µs since the epoch when the command was decided; the answer is kept 24 h from it.
    public var time: Int64
    /// The log's head after the command (the answer's `X-Ledger-Seq`).
    public var seq: UInt64
    /// The key the command answered with, its digests blanked.
    public var key: KeyState?

    public init(fingerprint: Digest, time: Int64, seq: UInt64, key: KeyState?) {
        self.fingerprint = fingerprint
        self.time = time
        self.seq = seq
        self.key = key
    }

    /// How long an answer is kept.
    public static let retentionMicros: Int64 = 86_400_000_000
}
