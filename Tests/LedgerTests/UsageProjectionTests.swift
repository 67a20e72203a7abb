import Events
import Projections
import Store
import Testing

/// A usage table alone in a temp directory.
private final class UsageStore {
    let directory = TempDirectory()
    let environment: Environment
    let projection: UsageProjection

    init() throws {
        environment = try Environment(
            path: directory.path, tables: UsageProjection.tableSpecs + [Checkpoints.tableSpec])
        projection = UsageProjection(environment: environment)
    }

    deinit { directory.remove() }

    func applyInOneTransaction(_ events: [Event]) throws {
        try environment.write { txn in
            for event in events { try projection.apply(event, in: txn) }
        }
    }

    /// Folds `events` through a rebuilder as a replay does: a commit every `chunk` events
    /// and at the end, each in its own transaction, stopping after `stopAfter` commits
    /// (an interrupted replay). Returns the last checkpoint written.
    @discardableResult
    func rebuild(_ events: [Event], chunk: Int, stopAfter: Int = .max) throws -> UInt64 {
        var rebuilder = projection.makeRebuilder()
        var decoder = ChunkDecoder(context: .minimal)
        var checkpoint: UInt64 = 0
        var flushes = 0
        for start in stride(from: 0, to: events.count, by: chunk) {
            let part = Array(events[start..<min(start + chunk, events.count)])
            for event in part { try EventCodec.encode(event).withUnsafeBytes { try decoder.add($0, seq: event.seq) } }
            var piece = decoder.take()
            piece.endsLog = start + chunk >= events.count
            rebuilder.fold(piece)
            try environment.write { txn in
                rebuilder.rewind()
                try rebuilder.write(into: txn, .closing)
            }
            checkpoint = rebuilder.checkpoint(after: part.last!.seq)
            rebuilder.committed()
            flushes += 1
            if flushes == stopAfter { break }
        }
        return checkpoint
    }

    /// Every row of every table the projection owns, prefixed by the table's name.
    func rows() throws -> [[UInt8]] {
        try environment.read { txn in
            var rows: [[UInt8]] = []
            for table in projection.tables {
                try txn.withCursor(table) { cursor in
                    var entry = try cursor.first()
                    while let e = entry {
                        rows.append(Array(table.name.utf8) + [0] + Array(e.key) + [0xFF] + Array(e.value))
                        entry = try cursor.next()
                    }
                }
            }
            return rows
        }
    }

    func usage(
        of key: KeyID, _ start: Int64, _ end: Int64, _ granularity: UsageGranularity, activeSince: Int64? = nil
    ) throws -> UsageReport {
        try environment.read { txn in
            try projection.usage(
                of: key, start: start, end: end, granularity: granularity, activeSince: activeSince, in: txn)
        }
    }
}

/// 2026-11-22T00:00:00Z, minute- and hour-aligned.
private let base: Int64 = 1_795_417_200_000_000
private let minute: Int64 = 60_000_000

private func accessed(_ key: KeyID, at time: Int64, _ code: VerifyCode = .valid, latency: UInt32 = 100) -> Event {
    Event(
        time: time, keyID: key, owner: "org_1", actor: Actor(kind: .root, id: "root"),
        payload: .accessed(KeyAccessed(code: code, latencyMicros: latency)))
}

/// Latencies spread evenly over `octaves` powers of two from 0 µs (27 reach about 2 minutes).
private func randomLatency(_ rng: inout SplitMix64, octaves: UInt64 = 20) -> UInt32 {
    let bits = rng.next() % octaves
    return UInt32(truncatingIfNeeded: (1 << bits) + rng.next() % (1 << bits)) - 1
}

/// Accesses of a few keys at non-decreasing times (some on minute edges), with random
/// codes and latencies, and other event types mixed in that usage must ignore.
private func randomHistory(_ rng: inout SplitMix64, events: Int, keys: [KeyID], maxStep: Int64) -> [Event] {
    var time = base + Int64(rng.next() % UInt64(maxStep))
    var history: [Event] = []
    for _ in 0..<events {
        time += Int64(rng.next() % UInt64(maxStep))
        if rng.next() % 8 == 0 { time += minute - ((time % minute + minute) % minute) }
        let key = keys[Int(rng.next() % UInt64(keys.count))]
        if rng.next() % 10 == 0 {
            history.append(
                Event(
                    time: time, keyID: key, owner: "org_1", actor: Actor(kind: .root, id: "root"),
                    payload: .suspended(reason: nil)))
            continue
        }
        let code = rng.next() % 4 == 0 ? VerifyCode.allCases[Int(rng.next() % 9)] : .valid
        history.append(accessed(key, at: time, code, latency: randomLatency(&rng)))
    }
    return history
}

private func histogram(_ latencies: [UInt32]) -> LatencyHistogram {
    var h = LatencyHistogram()
    for l in latencies { h.record(l) }
    return h
}

/// What a bucket should hold, counted from the raw events.
private struct Expected: Equatable {
    var start: Int64
    var requests: UInt64 = 0
    var errors: UInt64 = 0
    var latencies: [UInt32] = []
}

private func floorDiv(_ x: Int64, _ y: Int64) -> Int64 { x >= 0 ? x / y : -((-x + y - 1) / y) }

/// The buckets of a report over start..<end, by brute force over every event.
private func bruteForce(
    _ events: [Event], _ key: KeyID, _ start: Int64, _ end: Int64,
    _ granularity: UsageGranularity
) -> [Expected] {
    let width = granularity.micros
    guard end > start else { return [] }
    let first = floorDiv(start, width)
    let last = floorDiv(end - 1, width)
    var buckets = (first...last).map { Expected(start: $0 * width) }
    for event in events where event.keyID == key {
        guard case .accessed(let access) = event.payload else { continue }
        let index = floorDiv(event.time, width)
        guard index >= first, index <= last else { continue }
        buckets[Int(index - first)].requests += 1
        if access.code != .valid { buckets[Int(index - first)].errors += 1 }
        buckets[Int(index - first)].latencies.append(access.latencyMicros)
    }
    return buckets
}

/// Percentile mismatches against the exact nearest-rank percentiles of `latencies`.
private func percentileErrors(_ h: LatencyHistogram, _ latencies: [UInt32]) -> [String] {
    let sorted = latencies.sorted()
    var errors: [String] = []
    if h.max != (sorted.last ?? 0) { errors.append("max \(h.max), exact \(sorted.last ?? 0)") }
    for p in [0, 1, 25, 50, 90, 95, 99, 99.9, 100] {
        let got = h.percentile(p)
        guard !sorted.isEmpty else {
            if got != 0 { errors.append("p\(p) of nothing is \(got)") }
            continue
        }
        let rank = min(max(Int((Double(sorted.count) * (p / 100)).rounded(.up)), 1), sorted.count)
        let exact = sorted[rank - 1]
        if got < exact || Double(got - exact) > Double(exact) * LatencyHistogram.maxRelativeError {
            errors.append("p\(p) \(got), exact \(exact)")
        }
    }
    return errors
}

@Test(arguments: [1, 2, 3] as [UInt64])
func usageEqualsABruteForceCount(seed: UInt64) throws {
    var rng = SplitMix64(seed: seed)
    let keys = (0..<4).map { _ in KeyID(high: rng.next(), low: rng.next()) }
    // About 3.5 days of history.
    let events = randomHistory(&rng, events: 3000, keys: keys, maxStep: 200_000_000)
    let store = try UsageStore()
    try store.applyInOneTransaction(events)
    let day: Int64 = 86_400_000_000
    // At most 2,880 minute buckets; longer spans for coarser granularities.
    let spans: [UsageGranularity: Int64] = [.minute: 2 * day, .hour: 5 * day, .day: 6 * day]
    for granularity in UsageGranularity.allCases {
        for _ in 0..<15 {
            let key = keys[Int(rng.next() % 4)]
            let start = base - day + Int64(rng.next() % UInt64(5 * day))
            let end = start + Int64(rng.next() % UInt64(spans[granularity] ?? 0))
            let report = try store.usage(of: key, start, end, granularity)
            let expected = bruteForce(events, key, start, end, granularity)
            // Told when the key began (its first access, as a key's creation precedes it),
            // the report looks up fewer rows and holds the same.
            let since = events.first { $0.keyID == key }?.time
            #expect(try store.usage(of: key, start, end, granularity, activeSince: since) == report)

            let count = UsageProjection.bucketCount(start: start, end: end, granularity: granularity)
            #expect(report.buckets.count == count)
            #expect(report.start == expected.first?.start ?? report.end)
            let got = report.buckets.map {
                Expected(start: $0.start, requests: $0.metrics.requests, errors: $0.metrics.errors)
            }
            #expect(got == expected.map { Expected(start: $0.start, requests: $0.requests, errors: $0.errors) })
            #expect(report.buckets.map(\.metrics.latency) == expected.map { histogram($0.latencies) })
            let all = expected.flatMap(\.latencies)
            #expect(report.totals.requests == UInt64(all.count))
            #expect(report.totals.errors == expected.reduce(0) { $0 + $1.errors })
            var mismatches = percentileErrors(report.totals.latency, all)
            for (bucket, want) in zip(report.buckets, expected) where !want.latencies.isEmpty {
                mismatches += percentileErrors(bucket.metrics.latency, want.latencies)
            }
            #expect(mismatches.isEmpty, "\(granularity) \(start)..<\(end)")
        }
    }
}

@Test(arguments: [4, 5] as [UInt64])
func mergedPercentilesStayWithinTheErrorBound(seed: UInt64) {
    var rng = SplitMix64(seed: seed)
    let latencies = (0..<20_000).map { _ in randomLatency(&rng, octaves: 27) }
    // Record in random parts and merge them, as a report merges minute rows.
    var parts = [LatencyHistogram](repeating: LatencyHistogram(), count: 37)
    for l in latencies { parts[Int(rng.next() % 37)].record(l) }
    var merged = LatencyHistogram()
    for part in parts { merged.merge(part) }
    #expect(merged == histogram(latencies))
    #expect(merged.count == 20_000)
    #expect(percentileErrors(merged, latencies).isEmpty)
}

@Test func everyValueLiesInABucketWithinTheErrorBound() {
    var values: [UInt32] = Array(0...300) + [UInt32.max, UInt32.max - 1]
    for shift in 5..<32 {
        let power = UInt32(1) << shift
        values += [power - 1, power, power + 1, power + power / 2]
    }
    for v in values {
        // The median of {v, v, max} is the upper bound of v's bucket.
        var h = LatencyHistogram()
        for l in [v, v, .max] { h.record(l) }
        let bound = h.percentile(50)
        let slack = max(1, Double(v) * LatencyHistogram.maxRelativeError)
        #expect(bound >= v && Double(bound - v) < slack, "\(v) -> \(bound)")
        if v < 32 { #expect(bound == v) }
    }
}

@Test func encodingSortedLatenciesEqualsEncodingTheirHistogram() {
    var rng = SplitMix64(seed: 11)
    for size in [0, 1, 2, 3, 10, 200, 5000] {
        // Narrow and wide spreads: many values share buckets, or few do.
        for spread in [40, 100_000, Int(UInt32.max)] {
            let values = (0..<size).map { _ in UInt32(truncatingIfNeeded: rng.next() % UInt64(spread)) }.sorted()
            var expected = BinaryWriter()
            histogram(values).encode(into: &expected)
            var direct = BinaryWriter()
            values.withUnsafeBufferPointer { LatencyHistogram.encode(sorted: $0, into: &direct) }
            #expect(direct.bytes == expected.bytes, "\(size) values spread over \(spread)")
        }
    }
}

@Test func histogramEncodingIsSparseAndRoundTrips() throws {
    var rng = SplitMix64(seed: 9)
    for size in [0, 1, 2, 10, 1000] {
        // Typical verification latencies: 50 µs to 5 ms.
        let h = histogram((0..<size).map { _ in UInt32(50 + rng.next() % 5000) })
        var w = BinaryWriter()
        h.encode(into: &w)
        let bytes = w.bytes
        let decoded = try bytes.withUnsafeBytes { buffer in
            var r = BinaryReader(buffer)
            let h = try LatencyHistogram(reading: &r)
            #expect(r.isAtEnd)
            return h
        }
        #expect(decoded == h)
        #expect(bytes.count <= 4 + 3 * min(size, 150), "\(size) values took \(bytes.count) bytes")
        for cut in 0..<bytes.count {
            #expect(throws: EventDecodingError.self) {
                try Array(bytes[..<cut]).withUnsafeBytes { buffer in
                    var r = BinaryReader(buffer)
                    _ = try LatencyHistogram(reading: &r)
                }
            }
        }
    }
    let corrupt: [[UInt8]] = [
        [3, 1, 3, 0],  // a zero count
        [3, 1, 4, 1],  // bucket 4, above the max's (3)
        [4, 1, 3, 1],  // max 4 but its bucket empty
        [5, 0],  // a max with nothing recorded
        [5, 0xD1, 0x03],  // 465 buckets, more than exist
        [0x80, 0x80, 0x80, 0x80, 0x10, 1, 0, 1],  // max past UInt32
    ]
    for bytes in corrupt {
        #expect(throws: EventDecodingError.self, "\(bytes)") {
            try bytes.withUnsafeBytes { buffer in
                var r = BinaryReader(buffer)
                _ = try LatencyHistogram(reading: &r)
            }
        }
    }
}

/// `events` numbered from seq 1, as the log numbers them.
private func numbered(_ events: [Event]) -> [Event] {
    events.enumerated().map { i, event in
        var event = event
        event.seq = UInt64(i + 1)
        return event
    }
}

@Test func incrementalApplyAndRebuildWriteIdenticalRows() throws {
    var rng = SplitMix64(seed: 7)
    let keys = (0..<3).map { _ in KeyID(high: rng.next(), low: rng.next()) }
    // Dense enough that most minutes span several events, over several hours.
    let events = numbered(randomHistory(&rng, events: 600, keys: keys, maxStep: 60_000_000))
    let incremental = try UsageStore()
    for event in events {
        try incremental.environment.write { txn in try incremental.projection.apply(event, in: txn) }
    }
    let rows = try incremental.rows()
    #expect(rows.count > 300)
    for chunk in [1, 3, 17, 1000] {
        let rebuilt = try UsageStore()
        #expect(try rebuilt.rebuild(events, chunk: chunk) == events.last!.seq)
        #expect(try rebuilt.rows() == rows, "flush every \(chunk)")
    }
}

/// A replay cut short leaves the usage checkpoint before the hour it still held; the
/// incremental folds that catch up from there write what an uninterrupted fold writes:
/// nothing counted twice, nothing missed.
@Test func anInterruptedRebuildResumesFromItsCheckpoint() throws {
    var rng = SplitMix64(seed: 8)
    let keys = (0..<3).map { _ in KeyID(high: rng.next(), low: rng.next()) }
    let events = numbered(randomHistory(&rng, events: 400, keys: keys, maxStep: 90_000_000))
    let whole = try UsageStore()
    try whole.applyInOneTransaction(events)
    let rows = try whole.rows()
    var heldBack = 0
    for stop in [1, 2, 5, 11] {
        let resumed = try UsageStore()
        let checkpoint = try resumed.rebuild(events, chunk: 29, stopAfter: stop)
        #expect(checkpoint <= UInt64(29 * stop))
        if checkpoint < UInt64(29 * stop) { heldBack += 1 }
        try resumed.applyInOneTransaction(events.filter { $0.seq > checkpoint })
        #expect(try resumed.rows() == rows, "stopped after \(stop) flushes at checkpoint \(checkpoint)")
    }
    // The open hour was held back (and its checkpoint with it) at some of those stops.
    #expect(heldBack > 0)
}

/// The log's times never go back (the writer and imports see to it), but a rebuild does
/// not rely on it: an access earlier than the open hour is merged into its rows.
@Test func aRebuildMergesAnAccessWhoseTimeWentBack() throws {
    let key = KeyID(high: 3, low: 4)
    let hour: Int64 = 3_600_000_000
    let times = [base, base + minute, base + 2 * hour, base + 5, base + 2 * hour + minute, base - 3 * hour]
    let events = numbered(times.map { accessed(key, at: $0) })
    let whole = try UsageStore()
    try whole.applyInOneTransaction(events)
    for chunk in [1, 2, 6] {
        let rebuilt = try UsageStore()
        try rebuilt.rebuild(events, chunk: chunk)
        #expect(try rebuilt.rows() == whole.rows(), "flush every \(chunk)")
    }
    let report = try whole.usage(of: key, base - 4 * hour, base + 3 * hour, .hour)
    #expect(report.buckets.map(\.metrics.requests) == [0, 1, 0, 0, 3, 0, 2])
}

@Test func emptyBucketsHoldZerosAndOtherKeysAreNotCounted() throws {
    let key = KeyID(high: 5, low: 5)
    let before = KeyID(high: 5, low: 4)
    let after = KeyID(high: 5, low: 6)
    let unused = KeyID(high: 9, low: 9)
    var events = [
        accessed(key, at: base + 10_000_000, latency: 100),
        accessed(key, at: base + 59_999_999, .revoked, latency: 2000),
        accessed(key, at: base + 3 * minute, latency: 300),
    ]
    for other in [before, after] {
        events += [
            accessed(other, at: base, .rateLimited), accessed(other, at: base + 2 * minute),
            accessed(other, at: base + 5 * minute),
        ]
    }
    let store = try UsageStore()
    try store.applyInOneTransaction(events.sorted { $0.time < $1.time })

    let report = try store.usage(of: key, base, base + 6 * minute, .minute)
    #expect(report.buckets.map(\.start) == (0..<6).map { base + $0 * minute })
    #expect(report.buckets.map(\.metrics.requests) == [2, 0, 0, 1, 0, 0])
    #expect(report.buckets.map(\.metrics.errors) == [1, 0, 0, 0, 0, 0])
    for i in [1, 2, 4, 5] {
        #expect(report.buckets[i].metrics == UsageMetrics())
        #expect(report.buckets[i].metrics.latency.percentile(99) == 0)
    }
    #expect(report.totals.requests == 3 && report.totals.errors == 1)
    #expect(report.totals.latency.max == 2000)

    let hourly = try store.usage(of: key, base + 30 * minute, base + 31 * minute, .hour)
    #expect(hourly.start == base && hourly.end == base + 60 * minute)
    #expect(hourly.buckets.map(\.metrics.requests) == [3])

    let daily = try store.usage(of: key, base, base + 1, .day)
    #expect(daily.start % 86_400_000_000 == 0 && daily.buckets.map(\.metrics.requests) == [3])

    let none = try store.usage(of: unused, base, base + 6 * minute, .minute)
    #expect(none.buckets.count == 6 && none.buckets.allSatisfy { $0.metrics == UsageMetrics() })
    #expect(none.totals == UsageMetrics())
}

@Test func bucketCountsAtTheBoundaries() throws {
    let hour: Int64 = 60 * minute
    let day: Int64 = 24 * hour
    let cases: [(start: Int64, end: Int64, UsageGranularity, count: Int)] = [
        (0, minute, .minute, 1), (0, minute + 1, .minute, 2), (1, minute, .minute, 1),
        (minute - 1, minute + 1, .minute, 2), (base, base, .minute, 0), (base, base - 1, .hour, 0),
        (base, base + 1, .day, 1), (0, hour, .hour, 1), (hour - 1, hour, .hour, 1), (hour - 1, hour + 1, .hour, 2),
        (day - 1, day + 1, .day, 2), (0, day, .minute, 1440), (-1, 1, .minute, 2), (-day, 0, .day, 1),
        (base, base + 10_000 * minute, .minute, 10_000), (.min, .max, .day, 106_751_992),
    ]
    for (start, end, granularity, count) in cases {
        #expect(
            UsageProjection.bucketCount(start: start, end: end, granularity: granularity) == count,
            "\(start)..<\(end) by \(granularity)")
    }
    let store = try UsageStore()
    let widest = try store.usage(of: KeyID(high: 1, low: 1), base, base + 10_000 * minute, .minute)
    #expect(widest.buckets.count == 10_000 && widest.end == base + 10_000 * minute)
    #expect(try store.usage(of: KeyID(high: 1, low: 1), -1, 1, .minute).start == -minute)
    let tooLarge = #expect(throws: UsageRangeTooLarge.self) {
        try store.usage(of: KeyID(high: 1, low: 1), base, base + 10_000 * minute + 1, .minute)
    }
    #expect(tooLarge?.bucketCount == 10_001)
    #expect(UsageGranularity.allCases.map { UsageGranularity(wireName: $0.wireName) } == [.minute, .hour, .day])
    #expect(UsageGranularity(wireName: "week") == nil)
}
