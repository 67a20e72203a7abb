/// A streaming JSON writer that appends UTF-8 straight into a byte array.
///
/// Commas are placed automatically: call `beginObject()`, then `key(_:)` and a value
/// for each member, then `endObject()`; arrays likewise without keys. The writer does
/// not check that calls nest correctly (that would cost a stack on the hot path), so a
/// caller that skips an `end` or writes a value without a key gets invalid JSON.
///
/// This is on the HTTP hot path: no Foundation, no intermediate `String`s except the
/// standard library's shortest round-trip rendering of a `Double`.
public struct JSONWriter: Sendable {
    /// The JSON written so far is `storage[0..<count]`; the rest is zeroed room. Writes
    /// store straight into it, so a key or a short value costs one capacity check and
    /// one copy rather than an array append per piece (hot path, STYLE.md 12).
    private var storage: [UInt8]
    private var count = 0
    /// Whether the next key or value follows a sibling and so needs a comma first.
    private var needsComma = false

    /// Creates an empty writer.
    ///
    /// - Parameter capacity: Bytes to reserve up front, to avoid regrowing the array
    ///   for documents of about that size.
    public init(capacity: Int = 256) {
        storage = []
        guard capacity > 0 else { return }
        storage.reserveCapacity(capacity)
        Self.appendZeros(capacity, to: &storage)
    }

    /// The UTF-8 JSON written so far (a copy; ``finish()`` hands over the bytes without one).
    public var bytes: [UInt8] { Array(storage[0..<count]) }

    /// How many bytes have been written.
    public var byteCount: Int { count }

    /// A copy of the bytes written in `range` (within `0..<byteCount`), such as an
    /// object's members without its braces.
    public func bytes(in range: Range<Int>) -> [UInt8] {
        precondition(range.lowerBound >= 0 && range.upperBound <= count)
        return storage.withUnsafeBufferPointer { Array(UnsafeBufferPointer(rebasing: $0[range])) }
    }

    /// The UTF-8 JSON written, ending the writer.
    public consuming func finish() -> [UInt8] {
        storage.removeSubrange(count...)
        return storage
    }

    /// Opens an object; follow with `key(_:)`/value pairs and `endObject()`.
    public mutating func beginObject() {
        open(UInt8(ascii: "{"))
    }

    /// Closes the innermost open object.
    public mutating func endObject() {
        close(UInt8(ascii: "}"))
    }

    /// Opens an array; follow with values and `endArray()`.
    public mutating func beginArray() {
        open(UInt8(ascii: "["))
    }

    /// Closes the innermost open array.
    public mutating func endArray() {
        close(UInt8(ascii: "]"))
    }

    /// Writes an object member's key and the colon; the next call writes its value.
    public mutating func key(_ key: String) {
        separate()
        appendQuoted(key)
        appendByte(UInt8(ascii: ":"))
        needsComma = false
    }

    /// Writes a key given as a literal, and the colon, copying it without the scan for
    /// characters to escape: for renderers on the hot path whose keys are fixed. The
    /// literal must be printable ASCII other than `"` and `\\` (checked in debug builds).
    public mutating func key(static key: StaticString) {
        assert(key.withUTF8Buffer { $0.allSatisfy { $0 >= 0x20 && $0 < 0x7F && $0 != 0x22 && $0 != 0x5C } })
        key.withUTF8Buffer { key in
            reserve(key.count + 4)
            let comma = needsComma
            let at = count
            storage.withUnsafeMutableBufferPointer { storage in
                var out = storage.baseAddress.unsafelyUnwrapped + at
                if comma {
                    out.pointee = UInt8(ascii: ",")
                    out += 1
                }
                out.pointee = UInt8(ascii: "\"")
                if let source = key.baseAddress { (out + 1).update(from: source, count: key.count) }
                out += 1 + key.count
                out[0] = UInt8(ascii: "\"")
                out[1] = UInt8(ascii: ":")
            }
            count += key.count + 3 + (comma ? 1 : 0)
        }
        needsComma = false
    }

    /// Writes a string, escaping `"`, `\`, control characters, U+2028 and U+2029.
    public mutating func string(_ value: String) {
        separate()
        appendQuoted(value)
        needsComma = true
    }

    /// Writes a signed integer.
    public mutating func int(_ value: Int64) {
        separate()
        if value < 0 { appendByte(UInt8(ascii: "-")) }
        appendDecimal(value.magnitude)
        needsComma = true
    }

    /// Writes an unsigned integer.
    ///
    /// Values above `Int64.max` are valid JSON but ``JSONParser`` reads them back as
    /// `.double`, losing precision past 2^53.
    public mutating func uint(_ value: UInt64) {
        separate()
        appendDecimal(value)
        needsComma = true
    }

    /// Writes a number in its shortest form that parses back to the same `Double`
    /// (`0.1`, `1e+16`, `-0.0`); NaN and infinities, which JSON cannot express, are
    /// written as `null`.
    public mutating func double(_ value: Double) {
        guard value.isFinite else { return null() }
        separate()
        var text = value.description
        text.withUTF8 { append($0) }
        needsComma = true
    }

    /// Writes `true` or `false`.
    public mutating func bool(_ value: Bool) {
        if value { literal("true") } else { literal("false") }
    }

    /// Writes `null`.
    public mutating func null() {
        literal("null")
    }

    /// Writes a pre-rendered JSON value, such as a cached document, where a value goes.
    ///
    /// The bytes are copied as they are, with a comma before them when needed; they
    /// must be exactly one valid JSON value or the output is invalid.
    public mutating func raw(_ fragment: some Sequence<UInt8>) {
        separate()
        if fragment.withContiguousStorageIfAvailable({ append($0) }) == nil {
            for byte in fragment { appendByte(byte) }
        }
        needsComma = true
    }

    /// Writes pre-rendered object members (`"a":1,"b":2`, no leading or trailing comma),
    /// such as a cached part of a document, where the next member goes: a comma first
    /// when one is due. The bytes must be members of the object being written.
    public mutating func rawMembers(_ members: [UInt8]) {
        separate()
        members.withUnsafeBufferPointer { append($0) }
        needsComma = true
    }

    private mutating func separate() {
        if needsComma { appendByte(UInt8(ascii: ",")) }
    }

    /// A comma if due, then an opening bracket.
    @inline(__always)
    private mutating func open(_ bracket: UInt8) {
        reserve(2)
        if needsComma { store(UInt8(ascii: ",")) }
        store(bracket)
        needsComma = false
    }

    @inline(__always)
    private mutating func close(_ bracket: UInt8) {
        appendByte(bracket)
        needsComma = true
    }

    /// A comma if due, then `text` (a literal value).
    private mutating func literal(_ text: StaticString) {
        separate()
        text.withUTF8Buffer { append($0) }
        needsComma = true
    }

    /// Makes room for `extra` more bytes after `count`.
    @inline(__always)
    private mutating func reserve(_ extra: Int) {
        if storage.count &- count < extra { grow(extra) }
    }

    @inline(never)
    private mutating func grow(_ extra: Int) {
        let added = Swift.max(storage.count, extra, 64)
        storage.reserveCapacity(storage.count + added)
        Self.appendZeros(added, to: &storage)
    }

    /// Appends `count` zero bytes from ``zeros``: the array initializers that fill memory,
    /// or leave it to be filled, call the runtime's generic code, at several times the
    /// cost of this copy.
    private static func appendZeros(_ count: Int, to bytes: inout [UInt8]) {
        zeros.withUnsafeBufferPointer { zeros in
            var left = count
            while left > 0 {
                let chunk = Swift.min(zeros.count, left)
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: zeros[..<chunk]))
                left -= chunk
            }
        }
    }

    private static let zeros = [UInt8](repeating: 0, count: 4096)

    /// Stores `byte` in room already reserved.
    @inline(__always)
    private mutating func store(_ byte: UInt8) {
        storage[count] = byte
        count += 1
    }

    @inline(__always)
    private mutating func appendByte(_ byte: UInt8) {
        reserve(1)
        store(byte)
    }

    private mutating func append(_ source: UnsafeBufferPointer<UInt8>) {
        guard let base = source.baseAddress, !source.isEmpty else { return }
        reserve(source.count)
        let at = count
        storage.withUnsafeMutableBufferPointer { storage in
            (storage.baseAddress.unsafelyUnwrapped + at).update(from: base, count: source.count)
        }
        count += source.count
    }

    /// Appends the digits of `value` (``JSONBytes/writeDecimal(_:at:)``).
    private mutating func appendDecimal(_ value: UInt64) {
        reserve(JSONBytes.maxDecimalLength)
        let at = count
        count += storage.withUnsafeMutableBufferPointer { storage in
            JSONBytes.writeDecimal(value, at: storage.baseAddress.unsafelyUnwrapped + at)
        }
    }

    /// Appends `value` in quotes: in one copy when nothing in it needs an escape (the
    /// usual case), else with its escapes (``JSONBytes/writeQuoted(_:at:)``).
    private mutating func appendQuoted(_ value: String) {
        var value = value
        value.withUTF8 { utf8 in
            if JSONBytes.needsNoEscape(utf8) { appendQuotedAsIs(utf8) } else { appendEscaped(utf8) }
        }
    }

    private mutating func appendQuotedAsIs(_ utf8: UnsafeBufferPointer<UInt8>) {
        reserve(utf8.count + 2)
        let at = count
        storage.withUnsafeMutableBufferPointer { storage in
            let out = storage.baseAddress.unsafelyUnwrapped + at
            out[0] = UInt8(ascii: "\"")
            if let source = utf8.baseAddress { (out + 1).update(from: source, count: utf8.count) }
            out[utf8.count + 1] = UInt8(ascii: "\"")
        }
        count += utf8.count + 2
    }

    /// `utf8` in quotes with its escapes.
    private mutating func appendEscaped(_ utf8: UnsafeBufferPointer<UInt8>) {
        reserve(JSONBytes.maxQuotedLength(utf8.count))
        let at = count
        count += storage.withUnsafeMutableBufferPointer { storage in
            JSONBytes.writeQuoted(utf8, at: storage.baseAddress.unsafelyUnwrapped + at)
        }
    }
}
