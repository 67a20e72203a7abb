import Events
import JSON
import Ledger
import Logging
import Projections
import Rendering

/// Opens the ledger at `path` for a query that reads projections, warning on stderr when
/// any of them lags the log (a replay was interrupted, or one is running): its answers may
/// then miss the newest events. The head is read first, so a commit landing in between
/// cannot make a projection look behind.
func openForProjectionQueries(_ path: String) throws -> Ledger {
    let ledger = try Ledger.openReadOnly(path: path)
    let head = try ledger.head().seq
    let behind = try ledger.projectionCheckpoints().filter { $0.value < head }.sorted { $0.key < $1.key }
    if !behind.isEmpty {
        let list = behind.map { "\($0.key) \(head - $0.value) events behind" }.joined(separator: ", ")
        Log.warning(
            "projections lag the log (\(list)), as after an interrupted replay or during one; "
                + "answers may miss the newest events until keyledger replay or keyledger serve catches them up")
    }
    return ledger
}

/// `keyledger logs`: events newest first, as NDJSON.
enum LogsCommand: CLICommand {
    static let name = "logs"
    static let summary = "print events newest first (NDJSON), filtered like GET /v1/audit"
    static let about = """
        Prints matching events newest first, one JSON object per line (the API's event shape).
        Works on the data directory directly, whether or not a server runs. Only --data has an
        environment variable (KEYLEDGER_DATA); filters and --limit come from the command line.
        """

    static let options: [Option] =
        [.data] + LogFilter.options + [
            .text("actor", "A", "only events by this actor id"),
            .text("ip", "IP", "only events from this IPv4 or IPv6 address"),
            .text("route", "R1,R2", "only the records of requests to these route templates, such as /v1/audit"),
            .number("limit", default: 100, "events printed at most"),
        ]

    static func run(_ args: [String]) throws -> Int32 {
        let parsed = try parse(args)
        var log = try LogFilter(parsed)
        if let actor = parsed.value("actor") { log.filter.actor = Actor(id: actor) }
        if let ip = parsed.value("ip") {
            guard let address = IPAddress(ip) else { throw UsageError("--ip takes an IPv4 or IPv6 address") }
            log.filter.ip = address
        }
        if let routes = parsed.value("route") {
            log.filter.routes = routes.split(separator: ",").map(String.init)
            guard log.filter.routes.allSatisfy({ $0.hasPrefix("/") }) else {
                throw UsageError("--route takes route templates such as /v1/audit or /v1/keys/{id}/logs")
            }
        }
        var remaining = try parsed.integer("limit")
        let ledger = try openForProjectionQueries(try parsed.dataDirectory())
        var out = Output()
        var before: UInt64?
        while remaining > 0 {
            let page = try ledger.auditPage(
                log.filter, start: log.start, end: log.end, before: before, limit: min(remaining, 1000))
            for stored in page.events {
                var w = JSONWriter()
                EventJSON.write(stored.event, prevHash: stored.prevHash, hash: stored.hash, into: &w)
                out.line(w.bytes)
            }
            remaining -= page.events.count
            guard let next = page.next else { break }
            before = next
        }
        out.flush()
        return 0
    }

}

/// `keyledger usage`: a key's usage report as JSON.
enum UsageCommand: CLICommand {
    static let name = "usage"
    static let summary = "print a key's usage over a time range (JSON)"
    static let about = """
        Prints the usage report of GET /v1/keys/{id}/usage: zero-filled buckets of minute, hour
        or day, with requests, errors and latency percentiles (ms). Works whether or not a
        server runs.
        """

    static let options: [Option] = [
        .data,
        .text("key", "ID", required: true, "the key"),
        .text("start", "T", required: true, "the first bucket's time (RFC 3339)"),
        .text("end", "T", required: true, "the end of the range, excluded (RFC 3339)"),
        .text("granularity", "minute|hour|day", default: "hour", "the buckets' width"),
        .text("metrics", "LIST", default: "requests,errors,latency", "the figures each bucket holds"),
    ]

    static func run(_ args: [String]) throws -> Int32 {
        let parsed = try parse(args)
        guard let key = parsed.value("key"), let id = KeyID(key) else {
            throw UsageError("--key takes a key id such as key_0352V4t5jmTpbIFhSG0y6Y")
        }
        guard let start = try LogFilter.time(parsed, "start"), let end = try LogFilter.time(parsed, "end") else {
            throw UsageError("--start and --end are required (RFC 3339)")
        }
        guard let granularity = UsageGranularity(wireName: parsed.value("granularity") ?? "") else {
            throw UsageError("--granularity is minute, hour or day")
        }
        let metrics = Set((parsed.value("metrics") ?? "").split(separator: ",").map(String.init))
        let ledger = try openForProjectionQueries(try parsed.dataDirectory())
        let report = try ledger.usage(of: id, start: start, end: end, granularity: granularity)
        var w = JSONWriter()
        UsageJSON.write(report, metrics: metrics, into: &w)
        print(String(decoding: w.bytes, as: UTF8.self))
        return 0
    }
}

/// `keyledger history`: a key as it was at a time or sequence.
enum HistoryCommand: CLICommand {
    static let name = "history"
    static let summary = "print a key as it was at a time or event sequence (JSON)"
    static let arguments = "KEY"
    static let about = """
        Folds the key's own events up to the time (RFC 3339) or event sequence and prints the
        key object as it was then; exit 1 if it did not exist yet.
        """

    static let options: [Option] = [
        .data,
        .text("at", "T|SEQ", required: true, "the time (RFC 3339) or event sequence to fold up to"),
    ]

    static func run(_ args: [String]) throws -> Int32 {
        let parsed = try parse(args, positional: 1)
        guard let key = parsed.positional.first, let id = KeyID(key) else {
            throw UsageError("KEY (a key id) is required")
        }
        guard let at = parsed.value("at") else { throw UsageError("--at T|SEQ is required") }
        let ledger = try openForProjectionQueries(try parsed.dataDirectory())
        guard let point = HistoryPoint(at) else {
            throw UsageError("--at takes an RFC 3339 time or an event sequence number")
        }
        let (found, asOf) = try ledger.state(of: id, at: point)
        guard let state = found else {
            Log.error("key \(id) did not exist yet at \(at)")
            return 1
        }
        var w = JSONWriter()
        KeyJSON.write(state, now: asOf, into: &w)
        print(String(decoding: w.bytes, as: UTF8.self))
        return 0
    }
}
