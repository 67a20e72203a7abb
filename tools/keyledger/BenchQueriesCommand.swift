import Events
import Glibc
import Ledger
import Projections

/// `keyledger bench-queries`: times the audit, usage and history reads on a ledger.
enum BenchQueriesCommand: CLICommand {
    static let name = "bench-queries"
    static let summary = "time logs, usage, audit and state-at queries on a ledger"
    static let about = """
        On an existing ledger (e.g. one made by keyledger generate), picks the busiest key of the
        last 10,000 events and its owner, and prints the median and p95 of --runs runs of:
          newest 100 logs of the key; 90 days of hourly usage of the key;
          an owner + key.accessed audit page of 100; the key's state at the middle of the log.
        Read-only; safe while a server runs.
        """

    static let options: [Option] = [.data, .number("runs", default: 50, "runs of each query")]

    static func run(_ args: [String]) throws -> Int32 {
        let parsed = try parse(args)
        let runs = try parsed.integer("runs")
        let ledger = try Ledger.openReadOnly(path: try parsed.dataDirectory())
        let head = try ledger.head()
        guard head.seq > 0 else { throw UsageError("the ledger is empty: run keyledger generate first") }
        var counts: [KeyID: Int] = [:]
        var owners: [KeyID: String] = [:]
        for stored in try ledger.events(after: head.seq > 10_000 ? head.seq - 10_000 : 0, limit: 10_000) {
            counts[stored.event.keyID, default: 0] += 1
            owners[stored.event.keyID] = stored.event.owner
        }
        guard let key = counts.max(by: { $0.value < $1.value })?.key, let owner = owners[key] else { return 1 }
        print("ledger: \(head.seq) events; key \(key) (owner \(owner))")
        let day: Int64 = 86_400_000_000
        try time("logs_newest_100_of_one_key", runs) {
            _ = try ledger.auditPage(AuditFilter(keyID: key), start: nil, end: nil, before: nil, limit: 100)
        }
        try time("usage_90_days_hourly_one_key", runs) {
            _ = try ledger.usage(of: key, start: head.time - 90 * day, end: head.time, granularity: .hour)
        }
        try time("audit_owner_and_type_page_100", runs) {
            _ = try ledger.auditPage(
                AuditFilter(owner: owner, types: [.accessed]), start: nil, end: nil, before: nil, limit: 100)
        }
        try time("state_at_middle_of_log", max(1, runs / 10)) {
            _ = try ledger.state(of: key, atSeq: head.seq / 2)
        }
        return 0
    }

    static func time(_ name: String, _ runs: Int, _ body: () throws -> Void) throws {
        var samples: [Double] = []
        for _ in 0..<runs {
            let start = ContinuousClock.now
            try body()
            samples.append(seconds(since: start) * 1e3)
        }
        samples.sort()
        let median = samples[samples.count / 2]
        let p95 = samples[min(samples.count - 1, Int(Double(samples.count) * 0.95))]
        print("\(name): median \(fixed(median, 3)) ms, p95 \(fixed(p95, 3)) ms (\(runs) runs)")
    }
}
