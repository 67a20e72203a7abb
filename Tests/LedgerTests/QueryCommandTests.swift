import Events
import Ledger
import Projections
import Testing

/// The query commands say on stderr when a projection lags the log (as an interrupted
/// replay leaves it), and say nothing when every projection is caught up.
@Test func queryCommandsWarnWhenAProjectionLagsTheLog() throws {
    let f = try LedgerFixture()
    let (key, secret) = try f.create()
    for _ in 0..<3 { _ = try f.verify(secret) }
    let usage = [
        "usage", "--data", f.directory.path, "--key", key.id.description,
        "--start", "2020-01-01T00:00:00Z", "--end", "2020-01-02T00:00:00Z",
    ]
    let caughtUp = try runKeyledger(usage)
    #expect(caughtUp.status == 0 && !caughtUp.err.contains("lag"), "\(caughtUp.err)")
    try f.forget("usage", tables: ["usage_by_minute", "usage_by_hour"])
    for command in [usage, ["logs", "--data", f.directory.path, "--limit", "1"]] {
        let lagging = try runKeyledger(command)
        #expect(lagging.status == 0, "\(lagging.err)")
        #expect(lagging.err.contains("projections lag the log (usage \(f.headSeq) events behind)"), "\(lagging.err)")
    }
}
