import JSON

/// The JSON parser on arbitrary bytes: it throws or returns, never traps, and what it
/// returns, written out by `JSONWriter`, parses back to the same value. The same bytes
/// as text go through the RFC 3339 and base64url parsers (timestamps and cursors in
/// query strings), whose results must format back to what they parse from.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    if let micros = RFC3339.parse(text) {
        precondition(RFC3339.parse(RFC3339.format(micros: micros)) == micros, "\(text) does not format back")
    }
    if let bytes = Base64URL.decode(text) {
        precondition(Base64URL.decode(Base64URL.encode(bytes)) == bytes, "\(text) does not encode back")
    }
    guard let value = try? JSONParser.parse(UnsafeRawBufferPointer(start: data, count: size)) else { return 0 }
    var writer = JSONWriter()
    write(value, &writer)
    let again = try? JSONParser.parse(writer.bytes)
    precondition(again.map { same($0, value) } ?? false, "written out, \(value) parses as \(String(describing: again))")
    return 0
}

func write(_ value: JSONValue, _ w: inout JSONWriter) {
    switch value {
    case .null: w.null()
    case .bool(let b): w.bool(b)
    case .int(let i): w.int(i)
    case .double(let d): w.double(d)
    case .string(let s): w.string(s)
    case .array(let items):
        w.beginArray()
        for item in items { write(item, &w) }
        w.endArray()
    case .object(let object):
        w.beginObject()
        for member in object.members {
            w.key(member.key)
            write(member.value, &w)
        }
        w.endObject()
    }
}

/// Equal values, where a whole double may come back as an integer.
func same(_ a: JSONValue, _ b: JSONValue) -> Bool {
    switch (a, b) {
    case (.int(let i), .double(let d)), (.double(let d), .int(let i)): return Double(i) == d
    case (.array(let x), .array(let y)): return x.count == y.count && zip(x, y).allSatisfy(same)
    case (.object(let x), .object(let y)):
        return x.members.count == y.members.count
            && zip(x.members, y.members).allSatisfy { $0.key == $1.key && same($0.value, $1.value) }
    default: return a == b
    }
}
