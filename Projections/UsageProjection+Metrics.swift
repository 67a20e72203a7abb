import Events

/// Requests, errors and latencies of one key over a span of time: a row of the usage
/// table (one minute), a bucket of a report, or a report's totals.
public struct UsageMetrics: Sendable, Equatable {
    static let formatVersion: UInt8 = 1

    /// The `key.accessed` events counted.
    public private(set) var requests: UInt64 = 0
    /// Those whose code was not `VALID`.
    public private(set) var errors: UInt64 = 0
    /// Their verification latencies.
    public private(set) var latency = LatencyHistogram()

    /// No requests.
    public init() {}

    /// Counts one access.
    mutating func record(_ access: KeyAccessed) { record(access.latencyMicros, isError: access.code != .valid) }

    /// Counts one access that took `latencyMicros`; `isError` when its code was not VALID.
    mutating func record(_ latencyMicros: UInt32, isError: Bool) {
        requests += 1
        if isError { errors += 1 }
        latency.record(latencyMicros)
    }

    /// Adds everything `other` counted.
    mutating func merge(_ other: UsageMetrics) {
        requests += other.requests
        errors += other.errors
        latency.merge(other.latency)
    }

    /// The row bytes: version, requests, errors, histogram. Deterministic, so an
    /// incremental fold and a rebuild write identical rows.
    func encoded() -> [UInt8] {
        var w = BinaryWriter(capacity: 64)
        encode(into: &w)
        return w.bytes
    }

    func encode(into w: inout BinaryWriter) {
        w.u8(Self.formatVersion)
        w.varint(requests)
        w.varint(errors)
        latency.encode(into: &w)
    }

    /// Appends the row ``encode(into:)`` writes for accesses that took `latencies`
    /// (ascending), `errors` of them not VALID, without building the metrics.
    static func encode(sorted latencies: UnsafeBufferPointer<UInt32>, errors: UInt64, into w: inout BinaryWriter) {
        w.u8(formatVersion)
        w.varint(UInt64(latencies.count))
        w.varint(errors)
        LatencyHistogram.encode(sorted: latencies, into: &w)
    }

    /// Decodes a row written by ``encoded()``.
    init(decoding bytes: UnsafeRawBufferPointer) throws(EventDecodingError) {
        var r = BinaryReader(bytes)
        guard try r.u8() == Self.formatVersion else { throw r.fail("unknown usage row version") }
        requests = try r.varint()
        errors = try r.varint()
        latency = try LatencyHistogram(reading: &r)
        guard r.isAtEnd else { throw r.fail("trailing bytes after usage row") }
        guard errors <= requests, latency.count == requests else { throw r.fail("usage row counts disagree") }
    }
}
