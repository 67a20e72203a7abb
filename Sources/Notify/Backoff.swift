/// When a failed delivery is tried again, and when it is given up.
public enum Backoff {
    /// Seconds before the next attempt after `failures` failed ones: 5 s, 5 min, 30 min,
    /// 2 h, 5 h, 10 h, then every 12 h.
    public static func delay(afterFailures failures: Int) -> Int64 {
        let schedule: [Int64] = [5, 300, 1800, 7200, 18_000, 36_000]
        guard failures >= 1 else { return 0 }
        return failures <= schedule.count ? schedule[failures - 1] : 43_200
    }

    /// An event is given up once its first attempt is this old (3 days).
    public static let giveUpMicros: Int64 = 3 * 86_400 * 1_000_000
    /// A webhook failing without a success for this long (5 days) is disabled.
    public static let disableMicros: Int64 = 5 * 86_400 * 1_000_000
}
