/// The header fields of a request, in the order they arrived.
///
/// A value type. It keeps the raw header block once plus an index of where each field
/// lies, so parsing a request costs at most two allocations however many fields it has
/// (none when it reuses the previous request's storage); a `String` is made only when
/// a value is asked for (hot path, STYLE.md 12).
public struct HTTPHeaders: Sendable {
    /// Where one field's name and value lie in `bytes` (half-open ranges).
    struct Field: Sendable {
        var nameStart: Int32
        var nameEnd: Int32
        var valueStart: Int32
        var valueEnd: Int32
    }

    /// The header block as received: every field line, without the request line.
    @usableFromInline var bytes: [UInt8]
    /// One entry per field, in arrival order; values are already trimmed of whitespace.
    var index: [Field]

    /// Headers made from name-value pairs, kept in the given order.
    ///
    /// Meant for tests and for code that builds requests by hand; the server builds its
    /// headers straight from the received bytes.
    public init(_ fields: [(name: String, value: String)] = []) {
        guard !fields.isEmpty else {
            // The connection makes empty headers twice a request, to swap storage in and out.
            self.init(bytes: [], index: [])
            return
        }
        var bytes: [UInt8] = []
        var index: [Field] = []
        index.reserveCapacity(fields.count)
        for field in fields {
            let nameStart = Int32(bytes.count)
            bytes.append(contentsOf: field.name.utf8)
            let nameEnd = Int32(bytes.count)
            bytes.append(contentsOf: field.value.utf8)
            index.append(
                Field(nameStart: nameStart, nameEnd: nameEnd, valueStart: nameEnd, valueEnd: Int32(bytes.count)))
        }
        self.init(bytes: bytes, index: index)
    }

    init(bytes: [UInt8], index: [Field]) {
        self.bytes = bytes
        self.index = index
    }

    /// Removes every field, keeping the storage when no copy shares it, for the parser
    /// to write the next request's fields into.
    mutating func removeAll() {
        bytes.removeAll(keepingCapacity: true)
        index.removeAll(keepingCapacity: true)
    }

    /// The value of the first field called `name`, compared without regard to ASCII case;
    /// `nil` when there is none. Repeated fields are not joined: use `fields` for those.
    public subscript(name: String) -> String? {
        var key = name
        return key.withUTF8 { key in
            bytes.withUnsafeBufferPointer { block in
                for field in index where Self.matches(key, block, Int(field.nameStart), Int(field.nameEnd)) {
                    return String(decoding: block[Int(field.valueStart)..<Int(field.valueEnd)], as: UTF8.self)
                }
                return nil
            }
        }
    }

    /// `body` applied to the value bytes of the first field called `name` (compared
    /// without regard to ASCII case), without making a `String`; `nil` when there is none.
    /// Inlinable, so that a caller in another module gets it specialized: every
    /// verification asks for its `Content-Type` this way (hot path, STYLE.md 12).
    @inlinable
    public func withValue<R>(_ name: String, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R? {
        guard let range = valueRange(name) else { return nil }
        return bytes.withUnsafeBufferPointer { block in body(UnsafeBufferPointer(rebasing: block[range])) }
    }

    /// Where the value of the first field called `name` lies in `bytes`.
    @usableFromInline
    func valueRange(_ name: String) -> Range<Int>? {
        var key = name
        return key.withUTF8 { key in
            bytes.withUnsafeBufferPointer { block in
                for field in index where Self.matches(key, block, Int(field.nameStart), Int(field.nameEnd)) {
                    return Int(field.valueStart)..<Int(field.valueEnd)
                }
                return nil
            }
        }
    }

    /// Every field as a name-value pair, in arrival order, names as the client spelled them.
    public var fields: [(name: String, value: String)] {
        bytes.withUnsafeBufferPointer { block in
            index.map { field in
                (
                    name: String(decoding: block[Int(field.nameStart)..<Int(field.nameEnd)], as: UTF8.self),
                    value: String(decoding: block[Int(field.valueStart)..<Int(field.valueEnd)], as: UTF8.self)
                )
            }
        }
    }

    /// The number of fields.
    public var count: Int { index.count }

    private static func matches(
        _ key: UnsafeBufferPointer<UInt8>, _ block: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int
    ) -> Bool {
        guard end - start == key.count else { return false }
        // Names mostly come spelled as asked: equal bytes are not lowercased.
        for offset in 0..<key.count {
            let a = block[start + offset]
            let b = key[offset]
            if a != b && ASCII.lowercased(a) != ASCII.lowercased(b) { return false }
        }
        return true
    }
}
