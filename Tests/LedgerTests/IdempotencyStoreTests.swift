import Events
import Projections
import Testing

@testable import Ledger

/// The kept answers' rows: every subject comes back as written, a key's still in
/// version 1 (what a server before webhook answers reads), and version 1 rows of
/// such a server still decode.
@Test func keptAnswersRoundTripAndVersionOneRowsStillDecode() throws {
    let fingerprint = [UInt8](repeating: 7, count: 3).withUnsafeBytes { Digest.sha256($0) }
    let created = WebhookCreated(
        id: WebhookID(raw: KeyID(high: 1, low: 2)), url: "https://hooks.example.com/a", eventTypes: ["*"],
        description: nil)
    let event = Event(
        time: Sample.t0, keyID: .none, owner: "org_a", actor: .sweeper, ip: nil, requestID: nil,
        payload: .webhookCreated(created))
    let hook = try #require(Webhook.evolve(nil, event))
    var blanked = Sample.key()
    blanked.secretDigest = .zero
    let subjects: [(IdempotentAnswer.Subject?, UInt8)] = [
        (nil, 1), (.key(blanked), 1), (.webhook(hook), 2), (.leaks([true, false, true]), 2),
    ]
    for (subject, version) in subjects {
        let answer = IdempotentAnswer(fingerprint: fingerprint, time: Sample.t0, seq: 42, subject: subject)
        let bytes = IdempotencyStore.encode(answer)
        #expect(bytes.first == version)
        #expect(try bytes.withUnsafeBytes { try IdempotencyStore.decode($0) } == answer)
    }
    // A version 1 row as such a server wrote it: version, fingerprint, time, seq, 1, the key.
    var w = BinaryWriter()
    w.u8(1)
    w.digest(fingerprint)
    w.i64(Sample.t0)
    w.varint(42)
    w.u8(1)
    w.raw(blanked.encoded())
    let old = try w.bytes.withUnsafeBytes { try IdempotencyStore.decode($0) }
    #expect(old == IdempotentAnswer(fingerprint: fingerprint, time: Sample.t0, seq: 42, subject: .key(blanked)))
    // A version 1 row cannot hold a webhook: a tag it did not know is damage, not a webhook.
    var bad = IdempotencyStore.encode(
        IdempotentAnswer(fingerprint: fingerprint, time: 0, seq: 1, subject: .webhook(hook)))
    bad[0] = 1
    #expect(throws: (any Error).self) { try bad.withUnsafeBytes { try IdempotencyStore.decode($0) } }
}
