import Events
import Projections
import Store

/// The kept answers of idempotent requests: table `idempotency` (claim key -> answer)
/// and `idempotency_by_time` (time big-endian + claim key -> empty) to find expired
/// ones. Beside the log, not a projection: a replay cannot make them again, and keeps them.
///
/// Bounded: every record is at most one key row, and each write deletes up to two
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

    static func encode(_ answer: IdempotentAnswer) -> [UInt8] {
        var w = BinaryWriter()
        w.u8(1)
        w.digest(answer.fingerprint)
        w.i64(answer.time)
        w.varint(answer.seq)
        if var key = answer.key {
            key.secretDigest = .zero
            key.previousSecretDigest = key.previousSecretDigest.map { _ in .zero }
            w.u8(1)
            w.raw(key.encoded())
        } else {
            w.u8(0)
        }
        return w.bytes
    }

    static func decode(_ bytes: UnsafeRawBufferPointer) throws -> IdempotentAnswer {
        var r = BinaryReader(bytes)
        guard try r.u8() == 1 else { throw r.fail("unknown idempotent answer version") }
        let fingerprint = try r.digest()
        let time = try r.i64()
        let seq = try r.varint()
        var key: KeyState?
        if try r.u8() == 1 {
            key = try KeyState(decoding: try r.raw(bytes.count - r.offset))
        }
        return IdempotentAnswer(fingerprint: fingerprint, time: time, seq: seq, key: key)
    }
}
