import Events
@testable import Projections
import Testing

/// The live fold merges accesses into a stored usage row as encoded bytes: the row it
/// writes is the one decoding the stored row, recording the accesses and encoding it
/// again writes, for rows of every shape (empty buckets between, the highest bucket,
/// counts and latencies of many varint lengths).
@Test(arguments: [1, 2, 3, 4] as [UInt64])
func mergingEncodedRowsEqualsDecodingRecordingAndEncoding(seed: UInt64) {
    var rng = SplitMix64(seed: seed)
    var scratch = UsageProjection.RowScratch()
    for round in 0..<400 {
        var stored = UsageMetrics()
        for _ in 0..<Int(rng.next() % 300) { stored.record(latency(&rng), isError: rng.next() % 5 == 0) }
        var sorted = (0..<(1 + Int(rng.next() % 40))).map { _ in latency(&rng) }
        sorted.sort()
        let errors = rng.next() % UInt64(sorted.count + 1)
        var expected = stored
        for (j, l) in sorted.enumerated() { expected.record(l, isError: UInt64(j) < errors) }
        let row = stored.encoded()
        let merged = row.withUnsafeBytes { r in sorted.withUnsafeBufferPointer { scratch.merge(r, $0, errors: errors) } }
        #expect(merged.map { Array(scratch.out[$0]) } == expected.encoded(), "round \(round)")
    }
}

/// A stored row the decoder refuses (truncated, trailing bytes, a varint longer than it
/// needs, counts that disagree) is not merged: the fold lets the decoder say why.
@Test func aDamagedRowIsNotMerged() {
    var scratch = UsageProjection.RowScratch()
    var metrics = UsageMetrics()
    for l: UInt32 in [3, 70, 70, 5_000] { metrics.record(l, isError: false) }
    let good = metrics.encoded()
    let damaged: [[UInt8]] = [
        Array(good.dropLast()), good + [0], [good[0], 0x84, 0x00] + good[2...], [2] + good.dropFirst(),
        [good[0], 5] + good[2...],
    ]
    for row in [good] + damaged {
        let decodes = row.withUnsafeBytes { (try? UsageMetrics(decoding: $0)) != nil }
        let merged = row.withUnsafeBytes { r in [UInt32(9)].withUnsafeBufferPointer { scratch.merge(r, $0, errors: 0) } }
        #expect((merged != nil) == decodes, "\(row)")
    }
    #expect(good.withUnsafeBytes { r in [UInt32(9)].withUnsafeBufferPointer { scratch.merge(r, $0, errors: 0) } } != nil)
}

private func latency(_ rng: inout SplitMix64) -> UInt32 {
    // From 0 µs to the top of the range, most of them small.
    let bits = rng.next() % 33
    return bits == 32 ? .max : UInt32(truncatingIfNeeded: rng.next() % (1 << bits))
}
