import Events
import Projections
import Store

/// The kept answers of idempotent requests: table `idempotency` (claim key -> answer)
/// and `idempotency_by_time` (time big-endian + claim key -> empty) to find expired
/// ones. Beside the log, not a projection: a replay cannot make them again, and keeps them.
///
/// Bounded: every record is at most one key or webhook row (or a leak report's labels), and each write deletes up to two
/// answers older than ``IdempotentAnswer/retentionMicros``, so the tables hold no more
/// than a day of idempotent commands.
struct IdempotencyStore: Sendable {
    static let tableSpecs = [TableSpec("idempotency"), TableSpec("idempotency_by_time")]

    let answers: Table
    let byTime: Table

    init(environment: Environment) {
        answers = environment.table(Self.tableSpecs[0].name)
        byTime = environment.table(Self.tableSpecs[1].name)
    }

    /// Keeps `answer` under `claim`, in the caller's (the command's) transaction.
    func record(_ answer: IdempotentAnswer, for claim: IdempotencyClaim, in txn: borrowing Transaction) throws {
        try prune(before: answer.time - IdempotentAnswer.retentionMicros, limit: 2, in: txn)
        try txn.put(answers, claim.key.bytes, Self.encode(answer))
        try txn.put(byTime, Self.timeKey(answer.time, claim.key), [])
    }

    /// The answer kept under `key`, unless it is older than the retention at `now`.
    func answer(_ key: Digest, now: Int64, in txn: borrowing Transaction) throws -> IdempotentAnswer? {
        guard let bytes = try txn.get(answers, key.bytes) else { return nil }
        let answer = try bytes.withUnsafeBytes { try Self.decode($0) }
        return answer.time > now - IdempotentAnswer.retentionMicros ? answer : nil
    }

    /// Deletes up to `limit` answers decided before `cutoff`, oldest first.
    func prune(before cutoff: Int64, limit: Int, in txn: borrowing Transaction) throws {
        var expired: [[UInt8]] = []
        try txn.withCursor(byTime) { cursor in
            var entry = try cursor.first()
            while let e = entry, expired.count < limit {
                let key = Array(e.key)
                guard Self.time(of: key) < cutoff else { break }
                expired.append(key)
                entry = try cursor.next()
            }
        }
        for key in expired {
            _ = try txn.delete(byTime, key)
            _ = try txn.delete(answers, Array(key[8...]))
        }
    }

    static func timeKey(_ time: Int64, _ key: Digest) -> [UInt8] {
        withUnsafeBytes(of: UInt64(bitPattern: time).bigEndian) { Array($0) } + key.bytes
    }

    static func time(of timeKey: [UInt8]) -> Int64 {
        Int64(bitPattern: timeKey[..<8].reduce(0) { $0 << 8 | UInt64($1) })
    }

    /// The row: a version byte, the fingerprint, time, seq, then the subject as a tag
    /// and its encoding (to the row's end). Version 1 knows the tags 0 (none) and 1 (a
    /// key); version 2 adds 2 (a webhook) and 3 (leak labels). A row is written in the
    /// lowest version that holds it, so a server of version 1 still reads its own kinds.
    static func encode(_ answer: IdempotentAnswer) -> [UInt8] {
        var subject = BinaryWriter()
        let tag: UInt8
        switch answer.subject {
        case nil:
            tag = 0
        case .key(var key):
            tag = 1
            key.secretDigest = .zero
            key.previousSecretDigest = key.previousSecretDigest.map { _ in .zero }
            subject.raw(key.encoded())
        case .webhook(let hook):
            tag = 2
            subject.raw(hook.encoded())
        case .leaks(let labels):
            tag = 3
            subject.varint(UInt64(labels.count))
            for label in labels { subject.u8(label ? 1 : 0) }
        }
        var w = BinaryWriter()
        w.u8(tag <= 1 ? 1 : 2)
        w.digest(answer.fingerprint)
        w.i64(answer.time)
        w.varint(answer.seq)
        w.u8(tag)
        w.raw(subject.bytes)
        return w.bytes
    }

    static func decode(_ bytes: UnsafeRawBufferPointer) throws -> IdempotentAnswer {
        var r = BinaryReader(bytes)
        let version = try r.u8()
        guard version == 1 || version == 2 else { throw r.fail("unknown idempotent answer version") }
        let fingerprint = try r.digest()
        let time = try r.i64()
        let seq = try r.varint()
        let subject: IdempotentAnswer.Subject?
        switch (try r.u8(), version) {
        case (0, _): subject = nil
        case (1, _): subject = .key(try KeyState(decoding: try r.raw(bytes.count - r.offset)))
        case (2, 2): subject = .webhook(try Webhook(decoding: try r.raw(bytes.count - r.offset)))
        case (3, 2):
            var labels: [Bool] = []
            for _ in 0..<(try r.count(limit: 1000)) { labels.append(try r.u8() == 1) }
            subject = .leaks(labels)
        default: throw r.fail("unknown idempotent answer subject")
        }
        return IdempotentAnswer(fingerprint: fingerprint, time: time, seq: seq, subject: subject)
    }
}
