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
    /// What the command answered with, as much as its answer needs to be rendered again.
    public enum Subject: Sendable, Equatable {
        /// The key, its digests blanked.
        case key(KeyState)
        /// The webhook as the command left it (as it was before a delete).
        case webhook(Webhook)
        /// A leak report's labels, per token in order (the tokens are the request's own:
        /// a retry repeats the body, so they are never kept).
        case leaks([Bool])
    }

    public var fingerprint: Digest
    /// µs since the epoch when the command was decided; the answer is kept 24 h from it.
    public var time: Int64
    /// The log's head after the command (the answer's `X-Ledger-Seq`).
    public var seq: UInt64
    /// What the answer showed; nil when the request alone renders it (a redelivery).
    public var subject: Subject?

    public init(fingerprint: Digest, time: Int64, seq: UInt64, subject: Subject?) {
        self.fingerprint = fingerprint
        self.time = time
        self.seq = seq
        self.subject = subject
    }

    /// The key the command answered with, if it answered with one.
    public var key: KeyState? {
        if case .key(let state) = subject { return state }
        return nil
    }

    /// How long an answer is kept.
    public static let retentionMicros: Int64 = 86_400_000_000
}
