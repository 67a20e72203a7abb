public import Events
public import Projections

extension Ledger {
    /// Mints a secret with `prefix` (never stored; only its digest goes to the writer).
    public static func mintSecret(prefix: String) -> (secret: String, digest: Digest) {
        var random = SystemRandom()
        let secret = Secret.generate(prefix: prefix, using: &random)
        return (secret, Secret.digest(secret))
    }

    /// Creates a key; the completion gets the key and its secret (shown once).
    public func createKey(
        _ spec: KeySpec, context: CommandContext,
        completion: @escaping @Sendable (Result<(KeyState, String), LedgerError>) -> Void
    ) {
        let prefix = spec.prefix ?? "sk_\(spec.environment ?? "live")_"
        do {
            try KeyRules.prefix(prefix, field: spec.prefix == nil ? "environment" : "prefix")
        } catch {
            completion(.failure(error))
            return
        }
        let (secret, digest) = Self.mintSecret(prefix: prefix)
        var random = SystemRandom()
        let id = KeyID.make(at: clock.now(), using: &random)
        submit(.create(spec, id: id, secretDigest: digest), context: context) { result in
            completion(
                result.flatMap { outcome in
                    guard case .key(let state) = outcome else { return .failure(.unavailable("unexpected outcome")) }
                    return .success((state, secret))
                })
        }
    }

    /// Rotates a key's secret; the completion gets the key and its new secret.
    public func rotateKey(
        _ id: KeyID, gracePeriodSeconds: Int64, context: CommandContext,
        completion: @escaping @Sendable (Result<(KeyState, String), LedgerError>) -> Void
    ) {
        // The new secret keeps the key's prefix (set at creation, never changed), read
        // once the projections include the log as of now; the writer re-checks everything.
        let target: UInt64
        do {
            target = try committedSeq()
        } catch {
            completion(.failure(error))
            return
        }
        let waiting = whenProjected(target, within: 2) { [self] _ in
            let state: KeyState?
            switch Result(catching: { () throws(LedgerError) in try key(id) }) {
            case .success(let found): state = found
            case .failure(let error):
                completion(.failure(error))
                return
            }
            let (secret, digest) = Self.mintSecret(prefix: state?.prefix ?? "sk_")
            submit(.rotate(id, gracePeriodSeconds: gracePeriodSeconds, secretDigest: digest), context: context) {
                result in
                completion(
                    result.flatMap { outcome in
                        guard case .key(let state) = outcome else {
                            return .failure(.unavailable("unexpected outcome"))
                        }
                        return .success((state, secret))
                    })
            }
        }
        if !waiting { completion(.failure(.unavailable("too many requests wait for the projections"))) }
    }

    /// Verifies a presented secret. A malformed secret or bad checksum is answered
    /// NOT_FOUND at once, without a lookup and without the writer.
    public func verify(
        secret: String, _ request: VerifyRequest, context: CommandContext,
        completion: @escaping @Sendable (Result<VerifyResult, LedgerError>) -> Void
    ) {
        guard Secret.isWellFormed(secret) else {
            metrics.recordDecision(.notFound)
            completion(.success(VerifyResult(code: .notFound, status: 401)))
            return
        }
        let metrics = self.metrics
        submit(.verify(request, secretDigest: Secret.digest(secret)), context: context) { result in
            completion(
                result.flatMap { outcome in
                    guard case .verified(let verdict) = outcome else {
                        return .failure(.unavailable("unexpected outcome"))
                    }
                    metrics.recordDecision(verdict.code)
                    return .success(verdict)
                })
        }
    }
}
