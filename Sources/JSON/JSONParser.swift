/// A strict RFC 8259 JSON parser that works directly over bytes.
///
/// Rejected, each with the byte offset of the problem: trailing data after the value,
/// trailing commas, leading zeros, `NaN`/`Infinity` and other bare words, unescaped
/// control characters, invalid UTF-8, unpaired surrogates in `\u` escapes, duplicate
/// object keys, numbers too large for a finite `Double` (such as `1e400`; numbers too
/// small, such as `1e-400`, round to zero), and nesting deeper than `maxDepth`.
///
/// This is on the HTTP hot path, so it avoids Foundation and builds no `String` except
/// the final value of each JSON string; escaped strings are unescaped into one scratch
/// buffer reused for the whole document.
public enum JSONParser {
    /// Parses one JSON document, optionally surrounded by whitespace.
    ///
    /// - Parameters:
    ///   - bytes: The UTF-8 document, for example a request body as `[UInt8]`, an
    ///     `UnsafeRawBufferPointer` or `String.utf8`. A collection without contiguous
    ///     storage is copied into an array first.
    ///   - maxDepth: How many arrays and objects may nest inside each other; `[]` is
    ///     depth 1. The parser recurses once per level, so keep this modest.
    /// - Returns: The document's value.
    /// - Throws: ``JSONError`` with the offset and reason of the first problem found.
    public static func parse(
        _ bytes: some Collection<UInt8>, maxDepth: Int = 64
    ) throws(JSONError) -> JSONValue {
        let result = bytes.withContiguousStorageIfAvailable { buffer in
            Result { () throws(JSONError) in
                var reader = Reader(input: buffer, maxDepth: maxDepth)
                return try reader.parseDocument()
            }
        }
        if let result {
            return try result.get()
        }
        return try parse(Array(bytes), maxDepth: maxDepth)
    }

    /// The same as the generic `parse(_:maxDepth:)`, for an array, without going through the
    /// generic collection: every request body is parsed this way (hot path, STYLE.md 12).
    public static func parse(_ bytes: [UInt8], maxDepth: Int = 64) throws(JSONError) -> JSONValue {
        try bytes.withUnsafeBufferPointer { buffer in
            Result { () throws(JSONError) in
                var reader = Reader(input: buffer, maxDepth: maxDepth)
                return try reader.parseDocument()
            }
        }.get()
    }
}

extension JSONParser {
    /// A cursor over one document. It lives for one `parse` call, so its scratch
    /// buffer is reused by every escaped string in the document.
    struct Reader {
        let input: UnsafeBufferPointer<UInt8>
        let maxDepth: Int
        var index = 0
        var depth = 0
        var scratch: [UInt8] = []

        init(input: UnsafeBufferPointer<UInt8>, maxDepth: Int) {
            self.input = input
            self.maxDepth = maxDepth
        }

        mutating func parseDocument() throws(JSONError) -> JSONValue {
            skipWhitespace()
            let value = try parseValue()
            skipWhitespace()
            guard index == input.count else {
                throw JSONError(offset: index, reason: "unexpected data after the JSON value")
            }
            return value
        }

        mutating func parseValue() throws(JSONError) -> JSONValue {
            guard index < input.count else { throw failure("expected a value") }
            switch input[index] {
            case UInt8(ascii: "{"): return try parseObject()
            case UInt8(ascii: "["): return try parseArray()
            case UInt8(ascii: "\""): return .string(try parseString())
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
            case UInt8(ascii: "t"):
                try expectLiteral("true")
                return .bool(true)
            case UInt8(ascii: "f"):
                try expectLiteral("false")
                return .bool(false)
            case UInt8(ascii: "n"):
                try expectLiteral("null")
                return .null
            default: throw failure("expected a value")
            }
        }

        private mutating func parseArray() throws(JSONError) -> JSONValue {
            try enterContainer()
            if consume(UInt8(ascii: "]")) {
                depth -= 1
                return .array([])
            }
            // Room for a typical small array up front saves regrowing it twice.
            var elements: [JSONValue] = []
            elements.reserveCapacity(4)
            while true {
                elements.append(try parseValue())
                skipWhitespace()
                if consume(UInt8(ascii: "]")) {
                    depth -= 1
                    return .array(elements)
                }
                guard consume(UInt8(ascii: ",")) else {
                    throw failure("expected ',' or ']' after array element")
                }
                if peek() == UInt8(ascii: "]") {
                    throw JSONError(offset: index, reason: "trailing comma before ']'")
                }
            }
        }

        private mutating func parseObject() throws(JSONError) -> JSONValue {
            try enterContainer()
            if consume(UInt8(ascii: "}")) {
                depth -= 1
                return .object(JSONObject())
            }
            var members: [(key: String, value: JSONValue)] = []
            members.reserveCapacity(4)
            // Small objects are checked for duplicates by scanning; a set takes over
            // once scanning would cost more than hashing.
            var seen: Set<String>?
            while true {
                guard peek() == UInt8(ascii: "\"") else {
                    throw failure("expected '\"' to begin an object key")
                }
                let keyOffset = index
                let key = try parseString()
                let isDuplicate: Bool
                if members.count < 12 {
                    isDuplicate = members.contains { $0.key == key }
                } else {
                    if seen == nil { seen = Set(members.map(\.key)) }
                    isDuplicate = seen?.insert(key).inserted == false
                }
                if isDuplicate {
                    throw JSONError(offset: keyOffset, reason: "duplicate object key")
                }
                skipWhitespace()
                guard consume(UInt8(ascii: ":")) else {
                    throw failure("expected ':' after object key")
                }
                members.append((key: key, value: try parseValue()))
                skipWhitespace()
                if consume(UInt8(ascii: "}")) {
                    depth -= 1
                    return .object(JSONObject(members))
                }
                guard consume(UInt8(ascii: ",")) else {
                    throw failure("expected ',' or '}' after object member")
                }
                if peek() == UInt8(ascii: "}") {
                    throw JSONError(offset: index, reason: "trailing comma before '}'")
                }
            }
        }

        /// Steps over an opening bracket and the whitespace after it, counting depth.
        private mutating func enterContainer() throws(JSONError) {
            guard depth < maxDepth else {
                throw JSONError(offset: index, reason: "nesting deeper than \(maxDepth) levels")
            }
            depth += 1
            index += 1
            skipWhitespace()
        }

        private mutating func expectLiteral(_ literal: StaticString) throws(JSONError) {
            let start = literal.utf8Start
            for offset in 0..<literal.utf8CodeUnitCount {
                guard index < input.count, input[index] == start[offset] else {
                    throw failure("expected '\(literal)'")
                }
                index += 1
            }
        }

        /// Steps over `byte` and the whitespace after it, if it comes next.
        private mutating func consume(_ byte: UInt8) -> Bool {
            guard peek() == byte else { return false }
            index += 1
            skipWhitespace()
            return true
        }

        func peek() -> UInt8? {
            index < input.count ? input[index] : nil
        }

        mutating func skipWhitespace() {
            while index < input.count {
                switch input[index] {
                case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"):
                    index += 1
                default:
                    return
                }
            }
        }

        /// An error at the current byte saying what was expected and what was found.
        func failure(_ expected: String) -> JSONError {
            guard let byte = peek() else {
                return JSONError(offset: index, reason: "\(expected), found end of input")
            }
            let found =
                byte >= 0x20 && byte < 0x7F
                ? "'\(Character(Unicode.Scalar(byte)))'" : "byte 0x\(hex(byte))"
            return JSONError(offset: index, reason: "\(expected), found \(found)")
        }

        /// The input from `start` up to the current byte, as UTF-8 the caller validated.
        func text(from start: Int) -> String {
            String(decoding: UnsafeBufferPointer(rebasing: input[start..<index]), as: UTF8.self)
        }

        func hex(_ byte: UInt8) -> String {
            let digits = String(byte, radix: 16, uppercase: true)
            return byte < 0x10 ? "0" + digits : digits
        }
    }
}
