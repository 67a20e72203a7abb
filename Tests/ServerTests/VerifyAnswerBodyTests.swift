import Events
import JSON
import Projections
import Testing

@testable import Ledger
@testable import Server

/// Verdicts of every code, with and without a key, the key's strings holding what JSON
/// must escape (quotes, backslashes, control characters, U+2028) and what it need not
/// (other non-ASCII), numbers and times at their extremes, and any number of rate limits.
/// The reference rendering of a verify answer.
private enum ReferenceAnswer {
    /// The answer written with a ``JSONWriter``, member by member as API.md lists them: the
    /// reference the direct writer is held to (the service itself has only the direct one).
    static func render(_ v: VerifyResult) -> [UInt8] {
        Envelope.data { w in
            w.beginObject()
            w.field(static: "valid", v.isValid)
            w.field(static: "code", v.code.wireName)
            w.field(static: "status", Int64(v.status))
            if let key = v.key {
                w.rawMembers(VerifyFragments.identity(key))
                w.field(static: "credits", key.credits)
                w.rawMembers(VerifyFragments.terms(key, plan: v.plan))
                if let credits = v.ownerCredits { w.field(static: "ownerCredits", credits) }
                w.key(static: "rateLimits")
                w.beginArray()
                for limit in v.rateLimits {
                    w.beginObject()
                    w.field(static: "name", limit.name)
                    w.key(static: "limit")
                    w.uint(limit.limit)
                    w.key(static: "remaining")
                    w.uint(limit.remaining)
                    w.field(static: "resetAt", timestamp: limit.resetAt)
                    w.field(static: "scope", limit.scope.rawValue)
                    w.endObject()
                }
                w.endArray()
            }
            if let limit = v.rateLimit, v.code == .valid || v.code == .rateLimited || v.code == .usageExceeded {
                w.key(static: "rateLimit")
                w.beginObject()
                w.key(static: "limit")
                w.uint(limit.limit)
                w.key(static: "remaining")
                w.uint(limit.remaining)
                w.field(static: "resetAt", timestamp: limit.resetAt)
                w.endObject()
            }
            if v.code == .rateLimited { w.field(static: "retryAfterSeconds", Int64(v.retryAfterSeconds ?? 1)) }
            w.endObject()
        }
    }
}

private struct VerdictGenerator {
    var rng: SplitMix64

    static let texts = [
        "", "plain", "org_42", "Both \"ways\"", "back\\slash", "tab\tline\nend", "\u{0}\u{1F}", "x\u{2028}y\u{2029}",
        "\u{E2}\u{2027}", "caf\u{e9}", "e\u{301}", "\u{1F600}", "</script>", String(repeating: "long ", count: 60),
    ]
    static let times: [Int64] = [0, 1, -1, 1_795_417_200_000_000, RFC3339.maxMicros, RFC3339.minMicros, .max, .min]
    static let integers: [Int64] = [0, 1, -1, 7, 1_000_000, .max, .min]

    mutating func pick<T>(_ items: [T]) -> T { items[Int(rng.next() % UInt64(items.count))] }
    mutating func chance(_ percent: UInt64) -> Bool { rng.next() % 100 < percent }
    mutating func maybe<T>(_ value: T) -> T? { chance(50) ? value : nil }

    mutating func limit() -> RateLimitStatus {
        RateLimitStatus(
            name: chance(50) ? pick(Self.texts) : nil, limit: chance(20) ? .max : rng.next() % 10_000,
            remaining: chance(20) ? 0 : rng.next(), resetAt: pick(Self.times), scope: chance(50) ? .key : .owner)
    }

    mutating func key() -> KeyState {
        var metadata: [String: String] = [:]
        for _ in 0..<Int(rng.next() % 4) { metadata[pick(Self.texts)] = pick(Self.texts) }
        var key = KeyState(
            id: KeyID(high: rng.next() % 4, low: rng.next() % 4), owner: pick(Self.texts),
            created: KeyCreated(
                name: pick(Self.texts), prefix: "sk_live_", environment: pick(["live", "test", "st\"age"]),
                scopes: (0..<Int(rng.next() % 3)).map { _ in pick(Self.texts) }, accounts: [], ipAllowlist: [],
                expiresAt: maybe(pick(Self.times)), rateLimits: [], credits: maybe(pick(Self.integers)),
                metadata: metadata, secretDigest: Secret.digest("sk_live_sample")),
            at: 0)
        key.credits = maybe(pick(Self.integers))
        return key
    }

    mutating func verdict() -> VerifyResult {
        let code = pick(VerifyCode.allCases)
        var v = VerifyResult(code: code, status: pick([200, 401, 403, 404, 429, -5]))
        if chance(85) {
            v.key = key()
            v.rateLimits = (0..<Int(rng.next() % 4)).map { _ in limit() }
        }
        v.rateLimit = chance(70) ? limit() : nil
        v.retryAfterSeconds = chance(70) ? Int(pick(Self.integers.filter { $0 >= 0 && $0 < 1 << 40 })) : nil
        v.plan = chance(50) ? pick(Self.texts) : nil
        v.ownerCredits = chance(50) ? pick(Self.integers) : nil
        return v
    }
}

/// The service's body writer gives the reference renderer's bytes for every verdict,
/// whether its per-key members come fresh or from the cache (keys recur: few ids).
@Test(arguments: [11, 12, 13] as [UInt64])
func theVerifyAnswerWriterMatchesTheGeneralRenderer(seed: UInt64) {
    var generator = VerdictGenerator(rng: SplitMix64(seed: seed))
    let fragments = VerifyFragments()
    for _ in 0..<3_000 {
        let verdict = generator.verdict()
        let expected = ReferenceAnswer.render(verdict)
        let direct = VerifyAnswerBody.render(verdict, fragments: fragments)
        #expect(direct == expected, "\(String(decoding: expected, as: UTF8.self))")
    }
}

/// A verdict without a key and one with everything: the exact text the API documents.
@Test func theVerifyAnswerWriterWritesTheDocumentedShape() {
    let fragments = VerifyFragments()
    let unknown = VerifyResult(code: .notFound, status: 401)
    #expect(
        String(decoding: VerifyAnswerBody.render(unknown, fragments: fragments), as: UTF8.self)
            == #"{"success":true,"data":{"valid":false,"code":"NOT_FOUND","status":401}}"#)
    var generator = VerdictGenerator(rng: SplitMix64(seed: 1))
    var limited = VerifyResult(code: .rateLimited, status: 429, key: generator.key())
    limited.rateLimit = RateLimitStatus(name: nil, limit: 5, remaining: 0, resetAt: 0)
    limited.rateLimits = [RateLimitStatus(name: "a\"b", limit: 5, remaining: 0, resetAt: 0, scope: .owner)]
    let text = String(decoding: VerifyAnswerBody.render(limited, fragments: fragments), as: UTF8.self)
    #expect(
        text.hasSuffix(
            #","rateLimits":[{"name":"a\"b","limit":5,"remaining":0,"resetAt":"1970-01-01T00:00:00.000000Z","scope":"owner"}],"#
                + #""rateLimit":{"limit":5,"remaining":0,"resetAt":"1970-01-01T00:00:00.000000Z"},"retryAfterSeconds":1}}"#
        ))
    #expect(text.hasPrefix(#"{"success":true,"data":{"valid":false,"code":"RATE_LIMITED","status":429,"keyId":""#))
}
