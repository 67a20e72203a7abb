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

    /// Imports a key whose secret KeyLedger never saw, by the SHA-256 of that secret.
    public func importKey(
        _ spec: KeySpec, secretDigest: Digest, context: CommandContext,
        completion: @escaping @Sendable (Result<KeyState, LedgerError>) -> Void
    ) {
        var random = SystemRandom()
        let id = KeyID.make(at: clock.now(), using: &random)
        submit(.create(spec, id: id, secretDigest: secretDigest), context: context) { result in
            completion(
                result.flatMap { outcome in
                    guard case .key(let state) = outcome else { return .failure(.unavailable("unexpected outcome")) }
                    return .success(state)
                })
        }
    }

    /// Rotates a key's secret; the completion gets the key and its new secret.
    public func rotateKey(
        _ id: KeyID, gracePeriodSeconds: Int64, context: CommandContext,
        completion: @escaping @Sendable (Result<(KeyState, String), LedgerError>) -> Void
    ) {
        // The new secret keeps the key's prefix (set at creation, never changed); the
        // writer re-checks everything.
        rotate(
            context: context, prefix: { [self] () throws(LedgerError) in try key(id)?.prefix },
            command: { .rotate(id, gracePeriodSeconds: gracePeriodSeconds, secretDigest: $0) }, completion: completion)
    }

    /// Rotates the secret of the key `context`'s credential opens (a key with
    /// `selfRotate`); the completion gets the key and its new secret.
    public func rotateSelf(
        gracePeriodSeconds: Int64, context: CommandContext,
        completion: @escaping @Sendable (Result<(KeyState, String), LedgerError>) -> Void
    ) {
        guard let credential = context.credential else {
            completion(.failure(.invalid(field: "Authorization", reason: "self-rotation takes the key's own secret")))
            return
        }
        // The new secret keeps the key's prefix; the writer checks the credential.
        let keys = self.keys
        rotate(
            context: context,
            prefix: { [self] in
                let prefix = try? readProjections { txn in
                    try keys.keyID(forSecret: credential.digest, in: txn).flatMap { try keys.state(of: $0, in: txn) }?
                        .prefix
                }
                return prefix ?? nil
            },
            command: { .rotateSelf(gracePeriodSeconds: gracePeriodSeconds, secretDigest: $0) }, completion: completion)
    }

    /// Once the projections include the log as of now, mints a secret with the prefix
    /// `prefix` reads ("sk_" when it reads none) and submits what `command` makes of its
    /// digest; the completion gets the key and the new secret.
    private func rotate(
        context: CommandContext,
        prefix: @escaping @Sendable () throws(LedgerError) -> String?,
        command: @escaping @Sendable (Digest) -> Command,
        completion: @escaping @Sendable (Result<(KeyState, String), LedgerError>) -> Void
    ) {
        let target: UInt64
        do {
            target = try committedSeq()
        } catch {
            completion(.failure(error))
            return
        }
        let waiting = whenProjected(target, within: 2) { [self] _ in
            let found: String?
            switch Result(catching: prefix) {
            case .success(let read): found = read
            case .failure(let error):
                completion(.failure(error))
                return
            }
            let (secret, digest) = Self.mintSecret(prefix: found ?? "sk_")
            submit(command(digest), context: context) { result in
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

    /// Verifies a presented secret. A secret of KeyLedger's shape with a bad checksum
    /// is answered NOT_FOUND at once, without a lookup and without the writer; any other
    /// secret (an imported key's) is looked up by its SHA-256.
    public func verify(
        secret: String, _ request: VerifyRequest, context: CommandContext,
        completion: @escaping @Sendable (consuming Result<VerifyResult, LedgerError>) -> Void
    ) {
        guard Secret.isWellFormed(secret) || !Secret.hasLedgerShape(secret) else {
            metrics.recordDecision(.notFound)
            completion(.success(VerifyResult(code: .notFound, status: 401)))
            return
        }
        let metrics = self.metrics
        // The answered form: one closure between the writer's answer and the caller's. The
        // verdict moves through it to the caller, uncopied.
        submit(.verify(request, secretDigest: Secret.digest(secret)), context: context, answered: { result, _ in
            switch consume result {
            case .success(let outcome):
                guard case .verified(let verdict) = consume outcome else {
                    return completion(.failure(.unavailable("unexpected outcome")))
                }
                metrics.recordDecision(verdict.code)
                completion(.success(verdict))
            case .failure(let error): completion(.failure(error))
            }
        })
    }
}
