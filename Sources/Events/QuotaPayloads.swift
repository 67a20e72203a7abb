import JSON

/// When credits are set back to an amount (API.md, "Owners, plans and quotas"): at each
/// UTC midnight (`daily`) or at the start of day `dayOfMonth` of each month (`monthly`;
/// the month's last day when it is shorter).
public struct Refill: Hashable, Sendable {
    public enum Interval: UInt8, Sendable, CaseIterable {
        case daily = 1
        case monthly = 2

        public var wireName: String { self == .daily ? "daily" : "monthly" }

        public init?(wireName: some StringProtocol) {
            guard let match = Self.allCases.first(where: { $0.wireName == wireName }) else { return nil }
            self = match
        }
    }

    public var interval: Interval
    public var amount: Int64
    /// 1...31, monthly only (1 when not given).
    public var dayOfMonth: UInt8?

    public init(interval: Interval, amount: Int64, dayOfMonth: UInt8? = nil) {
        self.interval = interval
        self.amount = amount
        self.dayOfMonth = dayOfMonth
    }

    /// The first refill boundary strictly after `time` (µs since the epoch).
    public func nextBoundary(after time: Int64) -> Int64 {
        let dayMicros: Int64 = 86_400_000_000
        let day = Int(time >= 0 ? time / dayMicros : (time - dayMicros + 1) / dayMicros)
        switch interval {
        case .daily:
            return Int64(day + 1) * dayMicros
        case .monthly:
            let today = CivilDate(daysSinceEpoch: day)
            var (year, month) = (today.year, today.month)
            for _ in 0..<3 {
                let wanted = min(Int(dayOfMonth ?? 1), CivilDate.daysInMonth(month, year: year))
                let boundary = Int64(CivilDate(year: year, month: month, day: wanted).daysSinceEpoch) * dayMicros
                if boundary > time { return boundary }
                (year, month) = month == 12 ? (year + 1, 1) : (year, month + 1)
            }
            return Int64(day + 62) * dayMicros
        }
    }
}

/// What happens to an owner's key reported leaked.
public enum LeakPolicy: UInt8, Sendable, CaseIterable {
    case revoke = 1
    case suspend = 2
    case notify = 3

    public var wireName: String {
        switch self {
        case .revoke: "revoke"
        case .suspend: "suspend"
        case .notify: "notify"
        }
    }

    public init?(wireName: some StringProtocol) {
        guard let match = Self.allCases.first(where: { $0.wireName == wireName }) else { return nil }
        self = match
    }
}

/// An owner's settings as `owner.updated` leaves them (the whole record, not a diff).
public struct OwnerSettings: Equatable, Sendable {
    public var rateLimits: [RateLimit] = []
    /// The owner's credit balance after the change; nil: unlimited.
    public var credits: Int64?
    public var refill: Refill?
    public var plan: String?
    public var metadata: [String: String] = [:]
    /// nil: the server's (`--leak-policy`, default suspend).
    public var leakPolicy: LeakPolicy?
    /// Seconds after a key of the owner expires or is revoked until it is purged.
    public var purgeAfterSeconds: Int64?

    public init() {}
}

/// A plan's settings as `plan.updated` leaves them.
public struct PlanSettings: Equatable, Sendable {
    public var name: String
    public var rateLimits: [RateLimit] = []
    /// Credits a key created on the plan starts with when it gives none.
    public var credits: Int64?
    /// Refills the credits of every key and owner on the plan without a refill of its own.
    public var refill: Refill?

    public init(name: String) { self.name = name }
}

/// A key's quota settings as `key.configured` leaves them.
public struct KeyQuotaSettings: Equatable, Sendable {
    public var plan: String?
    public var refill: Refill?
    /// The key may rotate itself (`POST /v1/keys/self/rotate`).
    public var selfRotate = false
    public var purgeAfterSeconds: Int64?

    public init() {}

    /// True when nothing is set (a key without a `key.configured`).
    public var isDefault: Bool { self == KeyQuotaSettings() }
}
