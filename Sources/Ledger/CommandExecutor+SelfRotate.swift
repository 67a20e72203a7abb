import Events
import Projections
import Store

extension CommandExecutor {
    /// `POST /v1/keys/self/rotate`: the credential's own key gets a new secret, when its
    /// `selfRotate` allows (decided by ``Access``).
    func rotateSelf(
        _ job: Writer.Job, _ grace: Int64, _ digest: Digest, _ head: inout EventLog.Head, _ now: Int64,
        _ txn: borrowing Transaction
    ) throws -> Outcome {
        guard let credential = job.context.credential else {
            throw LedgerError.invalid(
                field: "Authorization", reason: "self-rotation takes the key's own secret as the credential")
        }
        let (state, match) = try holder(of: credential, at: now)
        let allowed = selfRotates(state.id)
        let use = Access.Use(
            ip: job.context.ip, endpoint: credential.endpoint, latencyMicros: latency(job.context),
            status: job.command.statusWhenGranted)
        let grant = try Access.authorize(.key(state, match), .rotateSelf(allowed: allowed), target: state, use: use, now: now)
        var current = state
        for payload in grant.events + [try Decisions.rotate(state, gracePeriodSeconds: grace, secretDigest: digest, now: now)] {
            current =
                try append(
                    payload, to: current, id: state.id, owner: state.owner, actor: grant.actor, context: job.context,
                    head: &head, now: now, in: txn) ?? current
        }
        return .key(current)
    }

    /// True when key `id` may rotate itself now (its `selfRotate`, as the writer holds it).
    func selfRotates(_ id: KeyID) -> Bool {
        quotas.keyQuota(id)?.settings.selfRotate ?? false
    }
}
