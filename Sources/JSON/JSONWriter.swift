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
    /// The UTF-8 JSON written so far.
    public private(set) var bytes: [UInt8]
    /// Whether the next key or value follows a sibling and so needs a comma first.
    private var needsComma = false

    /// Creates an empty writer.
    ///
    /// - Parameter capacity: Bytes to reserve up front, to avoid regrowing the array
    ///   for documents of about that size.
    public init(capacity: Int = 256) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// Opens an object; follow with `key(_:)`/value pairs and `endObject()`.
    public mutating func beginObject() {
        separate()
        bytes.append(UInt8(ascii: "{"))
        needsComma = false
    }

    /// Closes the innermost open object.
    public mutating func endObject() {
        bytes.append(UInt8(ascii: "}"))
        needsComma = true
    }

    /// Opens an array; follow with values and `endArray()`.
    public mutating func beginArray() {
        separate()
        bytes.append(UInt8(ascii: "["))
        needsComma = false
    }

    /// Closes the innermost open array.
    public mutating func endArray() {
        bytes.append(UInt8(ascii: "]"))
        needsComma = true
    }

    /// Writes an object member's key and the colon; the next call writes its value.
    public mutating func key(_ key: String) {
        separate()
        appendQuoted(key)
        bytes.append(UInt8(ascii: ":"))
        needsComma = false
    }

    /// Writes a key given as a literal, and the colon, copying it without the scan for
    /// characters to escape: for renderers on the hot path whose keys are fixed. The
    /// literal must be printable ASCII other than `"` and `\\` (checked in debug builds).
    public mutating func key(static key: StaticString) {
        assert(key.withUTF8Buffer { $0.allSatisfy { $0 >= 0x20 && $0 < 0x7F && $0 != 0x22 && $0 != 0x5C } })
        separate()
        bytes.append(UInt8(ascii: "\""))
        key.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
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
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
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
        bytes.append(contentsOf: value.description.utf8)
        needsComma = true
    }

    /// Writes `true` or `false`.
    public mutating func bool(_ value: Bool) {
        raw(value ? "true".utf8 : "false".utf8)
    }

    /// Writes `null`.
    public mutating func null() {
        raw("null".utf8)
    }

    /// Writes a pre-rendered JSON value, such as a cached document, where a value goes.
    ///
    /// The bytes are copied as they are, with a comma before them when needed; they
    /// must be exactly one valid JSON value or the output is invalid.
    public mutating func raw(_ fragment: some Sequence<UInt8>) {
        separate()
        bytes.append(contentsOf: fragment)
        needsComma = true
    }

    /// Writes pre-rendered object members (`"a":1,"b":2`, no leading or trailing comma),
    /// such as a cached part of a document, where the next member goes: a comma first
    /// when one is due. The bytes must be members of the object being written.
    public mutating func rawMembers(_ members: [UInt8]) {
        separate()
        bytes.append(contentsOf: members)
        needsComma = true
    }

    private mutating func separate() {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
    }

    /// Appends the digits of `value`, made right to left in a stack buffer (20 hold any UInt64).
    private mutating func appendDecimal(_ value: UInt64) {
        if value < 10 {
            bytes.append(UInt8(ascii: "0") + UInt8(truncatingIfNeeded: value))
            return
        }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var start = 20
            var rest = value
            repeat {
                start -= 1
                digits[start] = UInt8(ascii: "0") + UInt8(truncatingIfNeeded: rest % 10)
                rest /= 10
            } while rest != 0
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: digits[start...]))
        }
    }

    /// Appends `value` in quotes, copying runs that need no escape in one go.
    private mutating func appendQuoted(_ value: String) {
        var value = value
        value.withUTF8 { utf8 in
            bytes.append(UInt8(ascii: "\""))
            var runStart = 0
            var index = 0
            while index < utf8.count {
                let byte = utf8[index]
                // The common case first: a byte that is copied as it is.
                if byte >= 0x20 && byte != UInt8(ascii: "\"") && byte != UInt8(ascii: "\\") && byte != 0xE2 {
                    index += 1
                    continue
                }
                switch byte {
                case 0..<0x20, UInt8(ascii: "\""), UInt8(ascii: "\\"):
                    bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<index]))
                    appendEscape(ascii: byte)
                    index += 1
                    runStart = index
                // U+2028 and U+2029 (E2 80 A8/A9) end lines in JavaScript, so escape
                // them for anyone embedding the output in a script.
                case 0xE2
                where index + 2 < utf8.count && utf8[index + 1] == 0x80
                    && utf8[index + 2] & 0xFE == 0xA8:
                    bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<index]))
                    let escape = utf8[index + 2] == 0xA8 ? #"\u2028"# : #"\u2029"#
                    bytes.append(contentsOf: escape.utf8)
                    index += 3
                    runStart = index
                default:
                    index += 1
                }
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<index]))
            bytes.append(UInt8(ascii: "\""))
        }
    }

    /// Appends the escape for a quote, backslash or control character.
    private mutating func appendEscape(ascii byte: UInt8) {
        bytes.append(UInt8(ascii: "\\"))
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"): bytes.append(byte)
        case 0x08: bytes.append(UInt8(ascii: "b"))
        case 0x09: bytes.append(UInt8(ascii: "t"))
        case 0x0A: bytes.append(UInt8(ascii: "n"))
        case 0x0C: bytes.append(UInt8(ascii: "f"))
        case 0x0D: bytes.append(UInt8(ascii: "r"))
        default:
            let hexDigits: StaticString = "0123456789abcdef"
            bytes.append(contentsOf: "u00".utf8)
            bytes.append(hexDigits.utf8Start[Int(byte >> 4)])
            bytes.append(hexDigits.utf8Start[Int(byte & 0x0F)])
        }
    }
}
