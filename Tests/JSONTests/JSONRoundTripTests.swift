import Events
import JSON
import Testing

@Suite struct JSONRoundTripTests {
    /// Scalars chosen to stress escaping and UTF-8: controls, quote, backslash,
    /// U+2028/9, multi-byte forms of every length, the largest scalar.
    static let scalars: [Unicode.Scalar] = [
        "a", "Z", "0", " ", "\"", "\\", "/", "\u{0}", "\u{8}", "\u{1F}", "\n", "\u{7F}",
        "é", "ß", "\u{7FF}", "\u{800}", "☺", "\u{2028}", "\u{2029}", "\u{FFFF}", "😀",
        "\u{10FFFF}",
    ]

    static func randomString(_ random: inout SplitMix64) -> String {
        var string = String.UnicodeScalarView()
        for _ in 0..<Int.random(in: 0...8, using: &random) {
            string.append(scalars[Int.random(in: 0..<scalars.count, using: &random)])
        }
        return String(string)
    }

    static func randomValue(_ random: inout SplitMix64, depth: Int) -> JSONValue {
        switch Int.random(in: 0..<(depth < 4 ? 8 : 6), using: &random) {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &random))
        case 2:
            return .int(Int64(bitPattern: random.next()) >> Int.random(in: 0...63, using: &random))
        case 3:
            let double = Double(bitPattern: random.next())
            return .double(double.isFinite ? double : 0.5)
        case 4, 5: return .string(randomString(&random))
        case 6:
            return .array(
                (0..<Int.random(in: 0...5, using: &random)).map { _ in
                    randomValue(&random, depth: depth + 1)
                })
        default:
            var object = JSONObject()
            var keys = Set<String>()
            for _ in 0..<Int.random(in: 0...5, using: &random) {
                let key = randomString(&random)
                guard keys.insert(key).inserted else { continue }
                object.members.append((key: key, value: randomValue(&random, depth: depth + 1)))
            }
            return .object(object)
        }
    }

    static func written(_ value: JSONValue) -> [UInt8] {
        var writer = JSONWriter()
        writer.value(value)
        return writer.bytes
    }

    @Test func writtenValuesParseBackEqual() throws {
        var random = SplitMix64(seed: 1)
        for _ in 0..<2_000 {
            let value = Self.randomValue(&random, depth: 0)
            let bytes = Self.written(value)
            #expect(try JSONParser.parse(bytes) == value)
        }
    }

    @Test func randomBytesThrowOrParseButNeverCrash() {
        var random = SplitMix64(seed: 2)
        for _ in 0..<3_000 {
            let bytes = (0..<Int.random(in: 0...48, using: &random)).map { _ in
                UInt8.random(in: 0...255, using: &random)
            }
            Self.checkSurvives(bytes)
        }
    }

    @Test func randomTokenSoupThrowsOrParsesButNeverCrashes() {
        let textTokens = [
            "{", "}", "[", "]", ",", ":", " ", "\"", "\\", "\\u", "D83D", "DE00", "a", "0", "1",
            "-", ".", "e", "+", "true", "null", "1e400", "\u{2028}", "\n",
        ]
        let tokens = textTokens.map { Array($0.utf8) } + [[0xC3], [0xA9], [0xED], [0xFF], [0x01]]
        var random = SplitMix64(seed: 3)
        for _ in 0..<5_000 {
            var bytes: [UInt8] = []
            for _ in 0..<Int.random(in: 0...24, using: &random) {
                bytes += tokens[Int.random(in: 0..<tokens.count, using: &random)]
            }
            Self.checkSurvives(bytes)
        }
    }

    @Test func mutatedDocumentsThrowOrParseButNeverCrash() {
        var random = SplitMix64(seed: 4)
        for _ in 0..<3_000 {
            var bytes = Self.written(Self.randomValue(&random, depth: 0))
            for _ in 0..<Int.random(in: 1...3, using: &random) {
                let position = Int.random(in: 0...bytes.count, using: &random)
                let byte = UInt8.random(in: 0...255, using: &random)
                switch Int.random(in: 0..<3, using: &random) {
                case 0: bytes.insert(byte, at: position)
                case 1 where position < bytes.count: bytes[position] = byte
                default: if position < bytes.count { bytes.remove(at: position) }
                }
            }
            Self.checkSurvives(bytes)
        }
    }

    /// Parsing either fails at an offset inside the input or yields a value that
    /// survives writing and parsing again.
    static func checkSurvives(_ bytes: [UInt8]) {
        let value: JSONValue
        do {
            value = try JSONParser.parse(bytes)
        } catch {
            #expect((0...bytes.count).contains(error.offset), "\(error) for \(bytes)")
            return
        }
        #expect((try? JSONParser.parse(written(value))) == value, "\(bytes)")
    }
}
