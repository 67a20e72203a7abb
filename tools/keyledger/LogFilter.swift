import Events
import JSON
import Ledger
import Projections

/// Options shared by `logs` and `export`: filters over the log.
struct LogFilter {
    /// The filter options, declared by each command that takes them.
    static let options: [Option] = [
        .text("key", "ID", "only the events of this key"),
        .text("owner", "O", "only the events of this owner"),
        .text("types", "t1,t2", "only events of these types (wire names, such as key.created)"),
        .text("start", "T", "only events at or after this time (RFC 3339)"),
        .text("end", "T", "only events before this time (RFC 3339)"),
    ]

    var filter = AuditFilter()
    var start: Int64?
    var end: Int64?

    init(_ args: Arguments) throws {
        if let key = args.value("key") {
            guard let id = KeyID(key) else {
                throw UsageError("--key takes a key id such as key_0352V4t5jmTpbIFhSG0y6Y")
            }
            filter.keyID = id
        }
        filter.owner = args.value("owner")
        if let types = args.value("types") {
            for name in types.split(separator: ",") {
                guard let type = EventType(wireName: name) else { throw UsageError("unknown event type \(name)") }
                filter.types.append(type)
            }
        }
        start = try Self.time(args, "start")
        end = try Self.time(args, "end")
    }

    static func time(_ args: Arguments, _ name: String) throws -> Int64? {
        guard let text = args.value(name) else { return nil }
        guard let micros = RFC3339.parse(text) else {
            throw UsageError("--\(name) takes an RFC 3339 time, not \(text)")
        }
        return micros
    }

    func matches(_ e: Event) -> Bool {
        if let id = filter.keyID, e.keyID != id { return false }
        if let owner = filter.owner, e.owner != owner { return false }
        if !filter.types.isEmpty, !filter.types.contains(e.type) { return false }
        if let start, e.time < start { return false }
        if let end, e.time >= end { return false }
        return true
    }
}
