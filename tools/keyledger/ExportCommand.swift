import Events
import Glibc
import JSON
import Ledger
import Rendering

/// `keyledger export`: the log, oldest first, as NDJSON or CSV, streamed.
enum ExportCommand: CLICommand {
    static let name = "export"
    static let summary = "stream the log oldest first as NDJSON or CSV, filtered"
    static let about = """
        Streams every matching event, oldest first, in constant memory: NDJSON (the API's event
        shape, one per line) or CSV (seq,id,type,time,keyId,owner,actorType,actorId,ip,requestId,
        data,prevHash,hash; data is the event's JSON data). Reads in chunks of short read
        transactions, so it never holds the writer back; safe while a server runs.

        --proofs writes the verifiable export of GET /v1/audit/export instead (NDJSON only): a
        first line {"checkpoint": "<signed note of the current tree>"}, then every matching
        event with its record (base64) and inclusion proof to that checkpoint;
        keyledger verify-export and tools/verify_export.py check it offline.
        """

    static let options: [Option] =
        [.data, .text("format", "ndjson|csv", default: "ndjson", "the output format")]
        + LogFilter.options + [
            .flag("proofs", "write the verifiable export: a signed checkpoint, then each event with its proof"),
            .text(
                "origin", "TEXT", configuration: true, shownDefault: "keyledger/<ledger id>",
                "the checkpoint's first line, with --proofs"),
        ]

    static func run(_ args: [String]) throws -> Int32 {
        let parsed = try parse(args)
        let filter = try LogFilter(parsed)
        let format = parsed.value("format") ?? ""
        guard format == "ndjson" || format == "csv" else { throw UsageError("--format is ndjson or csv") }
        let ledger = try Ledger.openReadOnly(path: try parsed.dataDirectory())
        var out = Output()
        if parsed.has("proofs") {
            guard format == "ndjson" else { throw UsageError("--proofs writes NDJSON only") }
            let checkpoints = try TreeCheckpoints(ledger: ledger, options: .init(origin: parsed.value("origin")))
            try AuditExport.write(
                ledger, checkpoints: checkpoints, filter: filter.filter, start: filter.start, end: filter.end
            ) { line in out.line(Array(line.dropLast())) }
            out.flush()
            return 0
        }
        if format == "csv" {
            out.line(Array("seq,id,type,time,keyId,owner,actorType,actorId,ip,requestId,data,prevHash,hash".utf8))
        }
        var after: UInt64 = 0
        while true {
            let chunk = try ledger.events(after: after, limit: 10_000)
            guard let last = chunk.last else { break }
            for stored in chunk where filter.matches(stored.event) {
                var w = JSONWriter()
                if format == "ndjson" {
                    EventJSON.write(stored.event, prevHash: stored.prevHash, hash: stored.hash, into: &w)
                    out.line(w.bytes)
                } else {
                    out.line(csvRow(stored))
                }
            }
            after = last.event.seq
        }
        out.flush()
        return 0
    }

    static func csvRow(_ stored: EventLog.Stored) -> [UInt8] {
        let e = stored.event
        var data = JSONWriter()
        EventJSON.data(e.payload, &data)
        let fields = [
            "\(e.seq)", ChainedRecord.eventID(stored.hash), e.type.wireName, RFC3339.format(micros: e.time),
            e.keyID.description, e.owner, e.actor.kind.wireName, e.actor.id, e.ip?.description ?? "",
            e.requestID ?? "", String(decoding: data.bytes, as: UTF8.self), stored.prevHash.hex, stored.hash.hex,
        ]
        return Array(fields.map(quote).joined(separator: ",").utf8)
    }

    /// RFC 4180: quote fields holding a comma, quote or line break; double inner quotes.
    static func quote(_ field: String) -> String {
        guard field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return field }
        return "\"" + field.replacing("\"", with: "\"\"") + "\""
    }
}
