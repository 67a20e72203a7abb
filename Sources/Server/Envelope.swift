import JSON

/// The success envelope (API.md): `{"success": true, "data": ...}`, plus `nextCursor`
/// on lists. Writers render straight into one buffer.
enum Envelope {
    /// `{"success":true,"data":<fill>}`.
    static func data(_ fill: (inout JSONWriter) -> Void) -> [UInt8] {
        var w = JSONWriter(capacity: 512)
        w.beginObject()
        w.field(static: "success", true)
        w.key(static: "data")
        fill(&w)
        w.endObject()
        return w.finish()
    }

    /// `{"success":true,"data":[...],"nextCursor":...}`.
    static func list<T>(_ items: [T], nextCursor: String?, _ each: (T, inout JSONWriter) -> Void) -> [UInt8] {
        var w = JSONWriter(capacity: 256 + items.count * 256)
        w.beginObject()
        w.field("success", true)
        w.key("data")
        w.beginArray()
        for item in items { each(item, &w) }
        w.endArray()
        w.field("nextCursor", nextCursor)
        w.endObject()
        return w.finish()
    }
}
