import JSON

extension VerifyBody {
    /// The body read straight from `bytes` when it is plain: one object of the verify
    /// members alone, each at most once, names written without escapes, and every value
    /// `null`, an integer of at most 18 digits without a fraction, an exponent, a leading
    /// zero or a minus before 0, a string of printable ASCII without escapes, or an array
    /// of such strings, with JSON's whitespace anywhere between. Nil for any other body,
    /// valid or not, which the general reader then reads.
    ///
    /// For a plain body the general parser gives exactly these values (each of the
    /// forms above has one reading), so the two readers agree on every body; a test
    /// holds them to it over generated bodies.
    init?(plain bytes: UnsafeBufferPointer<UInt8>) {
        self.init()
        var scanner = PlainScanner(bytes: bytes)
        var seen: UInt8 = 0
        guard scanner.take(UInt8(ascii: "{")) else { return nil }
        if !scanner.take(UInt8(ascii: "}")) {
            repeat {
                guard let name = scanner.plainString(), let member = Member(bytes, name), seen & member.bit == 0,
                    scanner.take(UInt8(ascii: ":")), let value = scanner.value()
                else { return nil }
                seen |= member.bit
                set(member, value)
            } while scanner.take(UInt8(ascii: ","))
            guard scanner.take(UInt8(ascii: "}")) else { return nil }
        }
        scanner.skipWhitespace()
        guard scanner.index == bytes.count else { return nil }
    }

    /// One of the members a verification reads, known by its name's length (each differs).
    private enum Member: Int {
        case key, scope, scopes, environment, account, ip, endpoint, cost

        /// The member named by `bytes[range]`, when it names one.
        init?(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) {
            let name: StaticString
            switch range.count {
            case 2: (self, name) = (.ip, "ip")
            case 3: (self, name) = (.key, "key")
            case 4: (self, name) = (.cost, "cost")
            case 5: (self, name) = (.scope, "scope")
            case 6: (self, name) = (.scopes, "scopes")
            case 7: (self, name) = (.account, "account")
            case 8: (self, name) = (.endpoint, "endpoint")
            case 11: (self, name) = (.environment, "environment")
            default: return nil
            }
            let expected = name.utf8Start
            for i in 0..<range.count where bytes[range.lowerBound &+ i] != expected[i] { return nil }
        }

        var bit: UInt8 { 1 << UInt8(rawValue) }
    }

    /// Sets `member`, which was not set before.
    private mutating func set(_ member: Member, _ value: consuming JSONValue) {
        switch member {
        case .key: key = value
        case .scope: scope = value
        case .scopes: scopes = value
        case .environment: environment = value
        case .account: account = value
        case .ip: ip = value
        case .endpoint: endpoint = value
        case .cost: cost = value
        }
    }
}

/// A cursor over a plain verify body (``VerifyBody/init(plain:)``); every read is nil
/// where the bytes leave the plain forms.
private struct PlainScanner {
    let bytes: UnsafeBufferPointer<UInt8>
    var index = 0

    /// Skips whitespace, then steps over `byte` if it comes next.
    mutating func take(_ byte: UInt8) -> Bool {
        skipWhitespace()
        guard index < bytes.count, bytes[index] == byte else { return false }
        index += 1
        return true
    }

    /// JSON's whitespace: space, tab, line feed, carriage return.
    mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"): index += 1
            default: return
            }
        }
    }

    /// After whitespace, a string of printable ASCII without escapes: where its
    /// contents lie.
    mutating func plainString() -> Range<Int>? {
        guard take(UInt8(ascii: "\"")) else { return nil }
        let start = index
        skipPlainWords()
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                index += 1
                return start..<(index - 1)
            }
            guard byte >= 0x20, byte < 0x80, byte != UInt8(ascii: "\\") else { return nil }
            index += 1
        }
        return nil
    }

    /// Steps over whole 8-byte words of a string's contents that hold no quote,
    /// backslash, control character or non-ASCII byte: one test per word instead of
    /// four per byte (secrets are long). Each test may stop early, never late; the
    /// byte-by-byte loop after it decides.
    private mutating func skipPlainWords() {
        guard let base = bytes.baseAddress else { return }
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        while bytes.count - index >= 8 {
            let word = UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self)
            let quotes = word ^ (ones &* UInt64(UInt8(ascii: "\"")))
            let backslashes = word ^ (ones &* UInt64(UInt8(ascii: "\\")))
            // A byte's high bit: set in `word` (non-ASCII); below 0x20; zero after the xor.
            let flagged =
                word | ((word &- ones &* 0x20) & ~word) | ((quotes &- ones) & ~quotes)
                | ((backslashes &- ones) & ~backslashes)
            guard flagged & highs == 0 else { return }
            index += 8
        }
    }

    /// After whitespace, a plain value.
    mutating func value() -> JSONValue? {
        skipWhitespace()
        guard index < bytes.count else { return nil }
        switch bytes[index] {
        case UInt8(ascii: "\""): return plainString().map(string)
        case UInt8(ascii: "["): return strings()
        case UInt8(ascii: "n"):
            guard bytes.count - index >= 4, bytes[index + 1] == UInt8(ascii: "u"),
                bytes[index + 2] == UInt8(ascii: "l"),
                bytes[index + 3] == UInt8(ascii: "l")
            else { return nil }
            index += 4
            return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return integer()
        default: return nil
        }
    }

    private func string(_ range: Range<Int>) -> JSONValue {
        .string(String(decoding: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self))
    }

    /// `[` plain strings separated by commas `]`.
    private mutating func strings() -> JSONValue? {
        index += 1
        var elements: [JSONValue] = []
        if take(UInt8(ascii: "]")) { return .array(elements) }
        repeat {
            guard let range = plainString() else { return nil }
            elements.append(string(range))
        } while take(UInt8(ascii: ","))
        return take(UInt8(ascii: "]")) ? .array(elements) : nil
    }

    /// `-`? then 1 to 18 digits, not 0 followed by more, nor `-0`; no fraction or exponent.
    private mutating func integer() -> JSONValue? {
        let negative = bytes[index] == UInt8(ascii: "-")
        if negative { index += 1 }
        let start = index
        var value: Int64 = 0
        while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") {
            value = value &* 10 &+ Int64(bytes[index] &- UInt8(ascii: "0"))
            index += 1
        }
        let digits = index - start
        guard digits >= 1, digits <= 18, bytes[start] != UInt8(ascii: "0") || (digits == 1 && !negative) else {
            return nil
        }
        if index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E"): return nil
            default: break
            }
        }
        return .int(negative ? -value : value)
    }
}
