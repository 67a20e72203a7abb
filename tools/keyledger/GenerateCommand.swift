import Ledger
import Logging

/// `keyledger generate`: fills a ledger with a realistic history, fast.
enum GenerateCommand: CLICommand {
    static let name = "generate"
    static let summary = "fill a new ledger with a realistic generated history"
    static let about = """
        Creates the ledger when DIR holds none (printing its root token), then simulates gateways
        and security teams over the last --days: every key created first, then mostly
        verifications of hot and cold keys (decided by the real verification logic against the
        folded state, so codes, credits and rate limits are consistent), with rotations,
        suspensions, reactivations, credit top-ups, revocations and expiries. Events are bulk-
        imported in chained batches, then every projection is rebuilt (keyledger replay).
        Prints timings on stderr.
        """

    static let options: [Option] = [
        .data,
        .number("keys", default: 10_000, "keys created"),
        .number("owners", default: 100, "owners the keys are spread over"),
        .number("events", default: 10_000_000, "events in all, at least --keys"),
        .number("days", default: 90, "the days of history, ending now"),
        .number("seed", default: 1, in: 0...Int.max, "the random seed: the same seed, the same history"),
    ]

    static func run(_ args: [String]) throws -> Int32 {
        let parsed = try parse(args)
        let path = try parsed.dataDirectory()
        let keyCount = try parsed.integer("keys")
        let owners = try parsed.integer("owners")
        let total = try parsed.integer("events")
        let days = try parsed.integer("days")
        guard keyCount > 0, owners > 0, total >= keyCount, days > 0 else {
            throw UsageError("need keys ≥ 1, owners ≥ 1, events ≥ keys, days ≥ 1")
        }
        if !fileExists(path + "/data.mdb") { print(try Ledger.initialize(path: path)) }
        var options = LedgerOptions()
        options.sweepInterval = nil
        let ledger = try Ledger(path: path, options: options)
        defer { ledger.close() }
        guard try ledger.head().seq == 0 else {
            throw UsageError("\(path) already holds events; generate into a new ledger")
        }
        var simulation = Simulation(
            keys: keyCount, owners: owners, total: total,
            span: Int64(days) * 86_400_000_000, now: ledger.clock.now(),
            seed: UInt64(try parsed.integer("seed")))
        let started = ContinuousClock.now
        let head = try ledger.importEvents { simulation.next() }
        let generated = seconds(since: started)
        Log.info(
            "events generated",
            [
                "events": .integer(Int64(head)), "seconds": .seconds(generated),
                "eventsPerSecond": .integer(Int64(Double(head) / generated)),
            ])
        let replayStart = ContinuousClock.now
        try ledger.replay()
        let replayed = seconds(since: replayStart)
        Log.info(
            "projections rebuilt",
            [
                "events": .integer(Int64(head)), "seconds": .seconds(replayed),
                "eventsPerSecond": .integer(Int64(Double(head) / replayed)),
            ])
        return 0
    }
}
