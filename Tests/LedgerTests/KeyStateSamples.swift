import Events
import Testing
import Projections

/// Key states built in memory for the pure decisions' tests: no ledger, no disk.
enum Sample {
    /// A minute boundary, so that rate windows start on it.
    static let t0: Int64 = 1_795_417_200_000_000
    static let secret = Secret.digest("sk_live_sample")

    static func seconds(_ s: Double) -> Int64 { t0 + Int64(s * 1_000_000) }

    /// An active key of `owner` with `scopes`, created at ``t0``, changed by `configure`.
    static func key(
        _ n: UInt64 = 1, owner: String = "org_a", scopes: [String] = ["accounts:read"],
        _ configure: (inout KeyState) -> Void = { _ in }
    ) -> KeyState {
        var state = KeyState(
            id: KeyID(high: 0x0352_0000_0000_0000, low: n), owner: owner,
            created: KeyCreated(
                name: "sample", prefix: "sk_live_", environment: "live", scopes: scopes, accounts: [],
                ipAllowlist: [], expiresAt: nil, rateLimits: [], credits: nil, metadata: [:], secretDigest: secret),
            at: t0)
        configure(&state)
        return state
    }

    /// The range `text` names; a sample that does not parse fails the test that made it.
    static func cidr(_ text: String) -> CIDR {
        guard case .success(let range) = CIDR.parse(text) else {
            Issue.record("bad CIDR sample \(text)")
            return try! CIDR.parse("0.0.0.0/32").get()
        }
        return range
    }
}
