public import Events

/// The width of a usage report's buckets; buckets start on UTC boundaries.
public enum UsageGranularity: CaseIterable, Sendable {
    case minute
    case hour
    case day

    /// The API's name: "minute", "hour" or "day".
    public var wireName: String {
        switch self {
        case .minute: "minute"
        case .hour: "hour"
        case .day: "day"
        }
    }

    /// The granularity named `wireName`; nil for any other text.
    public init?(wireName: some StringProtocol) {
        guard let match = Self.allCases.first(where: { $0.wireName == wireName }) else { return nil }
        self = match
    }

    /// The bucket width in µs (days are 86,400 s: Unix time has no leap seconds).
    public var micros: Int64 {
        switch self {
        case .minute: 60_000_000
        case .hour: 3_600_000_000
        case .day: 86_400_000_000
        }
    }
}

/// One bucket of a usage report.
public struct UsageBucket: Sendable, Equatable {
    /// µs since the epoch, a multiple of the granularity's width.
    public let start: Int64
    /// What happened from `start` to `start` + the width; zeros when nothing did.
    public internal(set) var metrics = UsageMetrics()

    init(start: Int64) { self.start = start }
}

/// A key's usage over a range, bucket by bucket.
public struct UsageReport: Sendable, Equatable {
    public let keyID: KeyID
    public let granularity: UsageGranularity
    /// The start of the first bucket (the requested start floored to the granularity).
    public let start: Int64
    /// The end of the last bucket, exclusive; equal to `start` when there are no buckets.
    public let end: Int64
    /// Every bucket from `start` to `end`, in time order, empty ones included.
    public let buckets: [UsageBucket]
    /// All buckets merged.
    public let totals: UsageMetrics
}
