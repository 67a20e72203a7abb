import Events
import Ledger
import Synchronization

/// What the server holds in memory for idempotent requests (API.md, "Idempotency"):
/// the claims still in flight, and the secrets of created or rotated keys, so that a
/// retry can be answered with the secret it never received. Secrets live only here,
/// never on disk: after a restart a retried create or rotate is 409.
///
/// Bounded: at most ``maxSecrets`` secrets, each kept 24 h at most, the oldest
/// dropped first; in-flight claims are bounded by the server's connections.
final class IdempotencyGate: Sendable {
    static let maxSecrets = 10_000

    private struct State {
        var inFlight = Set<Digest>()
        var secrets: [Digest: (secret: String, time: Int64)] = [:]
        /// Keys of ``secrets`` in the order they were kept.
        var order: [Digest] = []
        var orderStart = 0
    }

    private let state = Mutex(State())

    /// Claims `key` for one request; false when a request with it is in flight.
    func begin(_ key: Digest) -> Bool {
        state.withLock { $0.inFlight.insert(key).inserted }
    }

    /// Ends the claim ``begin(_:)`` made.
    func end(_ key: Digest) {
        _ = state.withLock { $0.inFlight.remove(key) }
    }

    /// Keeps the secret a claimed create or rotate answered with.
    func keep(_ secret: String, for key: Digest, at time: Int64) {
        state.withLock { s in
            if s.secrets.updateValue((secret, time), forKey: key) == nil { s.order.append(key) }
            while s.secrets.count > Self.maxSecrets, s.orderStart < s.order.count {
                s.secrets[s.order[s.orderStart]] = nil
                s.orderStart += 1
            }
            if s.orderStart > 4096 {
                s.order.removeFirst(s.orderStart)
                s.orderStart = 0
            }
        }
    }

    /// The secret kept for `key`, when it is younger than 24 h at `now`.
    func secret(for key: Digest, now: Int64) -> String? {
        state.withLock { s in
            guard let kept = s.secrets[key], kept.time > now - IdempotentAnswer.retentionMicros else { return nil }
            return kept.secret
        }
    }
}
