extension JSONParser.Reader {
    /// Reads a string starting at its opening quote and steps past the closing one.
    ///
    /// A string without escapes becomes a `String` straight from the input bytes;
    /// only escapes send the bytes through the scratch buffer.
    mutating func parseString() throws(JSONError) -> String {
        index += 1
        let start = index
        var runStart = start
        var usesScratch = false
        while index < input.count {
            let byte = input[index]
            switch byte {
            case UInt8(ascii: "\""):
                let value: String
                if usesScratch {
                    appendToScratch(from: runStart)
                    value = String(decoding: scratch, as: UTF8.self)
                } else {
                    value = text(from: start)
                }
                index += 1
                return value
            case UInt8(ascii: "\\"):
                if !usesScratch {
                    scratch.removeAll(keepingCapacity: true)
                    usesScratch = true
                }
                appendToScratch(from: runStart)
                try appendEscape()
                runStart = index
            case 0..<0x20:
                throw JSONError(
                    offset: index, reason: "unescaped control character 0x\(hex(byte)) in string")
            case 0..<0x80:
                index += 1
            default:
                index += try utf8SequenceLength()
            }
        }
        throw JSONError(offset: index, reason: "unterminated string")
    }

    /// Copies the input from `start` up to the current byte into the scratch buffer.
    private mutating func appendToScratch(from start: Int) {
        scratch.append(contentsOf: UnsafeBufferPointer(rebasing: input[start..<index]))
    }

    /// Decodes the escape at `index` (a backslash) into the scratch buffer.
    private mutating func appendEscape() throws(JSONError) {
        let escapeStart = index
        index += 1
        guard let letter = peek() else { throw failure("expected an escape after '\\'") }
        index += 1
        switch letter {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): scratch.append(letter)
        case UInt8(ascii: "b"): scratch.append(0x08)
        case UInt8(ascii: "f"): scratch.append(0x0C)
        case UInt8(ascii: "n"): scratch.append(0x0A)
        case UInt8(ascii: "r"): scratch.append(0x0D)
        case UInt8(ascii: "t"): scratch.append(0x09)
        case UInt8(ascii: "u"):
            var scalar = try readHexQuad(escapeStart: escapeStart)
            if (0xDC00...0xDFFF).contains(scalar) {
                throw JSONError(offset: escapeStart, reason: "unpaired low surrogate in \\u escape")
            }
            if (0xD800...0xDBFF).contains(scalar) {
                let lowStart = index
                guard index + 1 < input.count, input[index] == UInt8(ascii: "\\"),
                    input[index + 1] == UInt8(ascii: "u")
                else {
                    throw JSONError(
                        offset: escapeStart, reason: "unpaired high surrogate in \\u escape")
                }
                index += 2
                let low = try readHexQuad(escapeStart: lowStart)
                guard (0xDC00...0xDFFF).contains(low) else {
                    throw JSONError(
                        offset: escapeStart, reason: "unpaired high surrogate in \\u escape")
                }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            }
            appendUTF8(scalar)
        default:
            throw JSONError(offset: escapeStart, reason: "invalid escape sequence")
        }
    }

    /// Reads the four hex digits after `\u`.
    private mutating func readHexQuad(escapeStart: Int) throws(JSONError) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard let byte = peek() else { throw failure("expected 4 hex digits after '\\u'") }
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default:
                throw JSONError(offset: escapeStart, reason: "expected 4 hex digits after '\\u'")
            }
            value = value << 4 | UInt32(digit)
            index += 1
        }
        return value
    }

    /// Encodes a scalar (never a surrogate) as UTF-8 into the scratch buffer.
    private mutating func appendUTF8(_ scalar: UInt32) {
        switch scalar {
        case 0..<0x80:
            scratch.append(UInt8(scalar))
        case 0x80..<0x800:
            scratch.append(0xC0 | UInt8(scalar >> 6))
            scratch.append(0x80 | UInt8(scalar & 0x3F))
        case 0x800..<0x10000:
            scratch.append(0xE0 | UInt8(scalar >> 12))
            scratch.append(0x80 | UInt8(scalar >> 6 & 0x3F))
            scratch.append(0x80 | UInt8(scalar & 0x3F))
        default:
            scratch.append(0xF0 | UInt8(scalar >> 18))
            scratch.append(0x80 | UInt8(scalar >> 12 & 0x3F))
            scratch.append(0x80 | UInt8(scalar >> 6 & 0x3F))
            scratch.append(0x80 | UInt8(scalar & 0x3F))
        }
    }

    /// The length of the well-formed multi-byte UTF-8 sequence at `index`
    /// (RFC 3629, table 3-7 of the Unicode standard): no overlong forms, no
    /// surrogates, nothing above U+10FFFF.
    private func utf8SequenceLength() throws(JSONError) -> Int {
        let lead = input[index]
        let length: Int
        var secondRange: ClosedRange<UInt8> = 0x80...0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0: (length, secondRange) = (3, 0xA0...0xBF)
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: (length, secondRange) = (3, 0x80...0x9F)
        case 0xF0: (length, secondRange) = (4, 0x90...0xBF)
        case 0xF1...0xF3: length = 4
        case 0xF4: (length, secondRange) = (4, 0x80...0x8F)
        default: throw JSONError(offset: index, reason: "invalid UTF-8 in string")
        }
        guard index + length <= input.count, secondRange.contains(input[index + 1]) else {
            throw JSONError(offset: index, reason: "invalid UTF-8 in string")
        }
        let rest = input[(index + 2)..<(index + length)]
        guard rest.allSatisfy({ $0 & 0xC0 == 0x80 }) else {
            throw JSONError(offset: index, reason: "invalid UTF-8 in string")
        }
        return length
    }
}
