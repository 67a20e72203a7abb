import JSON
import Testing

extension JSONWriter {
    /// The output as text, for comparing with expected JSON.
    var text: String { String(decoding: bytes, as: UTF8.self) }
}

@Suite struct JSONWriterTests {
    @Test func placesCommasBetweenMembersAndElements() {
        var writer = JSONWriter()
        writer.beginObject()
        writer.field("name", "ci key")
        writer.field("uses", Int64(3))
        writer.field("active", true)
        writer.field("note", String?.none)
        writer.key("scopes")
        writer.beginArray()
        writer.beginArray()
        writer.endArray()
        writer.string("read")
        writer.beginObject()
        writer.endObject()
        writer.null()
        writer.endArray()
        writer.key("limit")
        writer.uint(.max)
        writer.endObject()
        #expect(
            writer.text
                == #"{"name":"ci key","uses":3,"active":true,"note":null,"scopes":[[],"read",{},null],"limit":18446744073709551615}"#
        )
    }

    @Test func optionalFieldsWriteNullWhenNil() {
        var writer = JSONWriter()
        writer.beginObject()
        writer.field("s", String?.none)
        writer.field("i", Int64?.none)
        writer.field("b", Bool?.none)
        writer.field("t", timestamp: nil)
        writer.field("at", timestamp: 0)
        writer.endObject()
        #expect(
            writer.text
                == #"{"s":null,"i":null,"b":null,"t":null,"at":"1970-01-01T00:00:00.000000Z"}"#)
    }

    @Test func rawFragmentsTakePartInCommaPlacement() {
        var writer = JSONWriter()
        writer.beginArray()
        writer.raw(#"{"cached":true}"#.utf8)
        writer.raw([UInt8(ascii: "2")])
        RFC3339.write(micros: 1_795_417_200_000_000, into: &writer)
        writer.endArray()
        #expect(writer.text == #"[{"cached":true},2,"2026-11-23T07:00:00.000000Z"]"#)
    }

    static let escapes: [(value: String, json: String)] = [
        ("plain", #""plain""#),
        ("quote \" backslash \\ slash /", #""quote \" backslash \\ slash /""#),
        ("\u{8}\u{9}\u{A}\u{C}\u{D}", #""\b\t\n\f\r""#),
        ("\u{0}\u{1}\u{1F}", #""\u0000\u0001\u001f""#),
        ("\u{7F}", "\"\u{7F}\""),
        ("a\u{2028}b\u{2029}", #""a\u2028b\u2029""#),
        ("\u{2027}\u{202A}", "\"\u{2027}\u{202A}\""),
        ("é ☺ 😀 \u{10FFFF}", "\"é ☺ 😀 \u{10FFFF}\""),
        ("\"😀\"\n", #""\"😀\"\n""#),
    ]

    @Test(arguments: escapes)
    func escapesOnlyWhatItMust(value: String, json: String) throws {
        var writer = JSONWriter()
        writer.string(value)
        #expect(writer.text == json)
        #expect(try JSONParser.parse(writer.bytes) == .string(value))
    }

    @Test func escapesKeysLikeValues() {
        var writer = JSONWriter()
        writer.beginObject()
        writer.field("a\"\u{2028}", "v")
        writer.endObject()
        #expect(writer.text == #"{"a\"\u2028":"v"}"#)
    }

    static let integers: [Int64] = [0, 1, -1, 9, 10, -10, 1_000_000, .max, .min]

    @Test(arguments: integers)
    func writesIntegersExactly(value: Int64) throws {
        var writer = JSONWriter()
        writer.int(value)
        #expect(writer.text == String(value))
        #expect(try JSONParser.parse(writer.bytes) == .int(value))
    }

    /// Every number of digits, at both ends: each power of ten and the number before it.
    @Test func writesUnsignedIntegersOfEveryLengthExactly() {
        var values: [UInt64] = [0, .max]
        var power: UInt64 = 1
        for _ in 1...19 {
            power *= 10
            values += [power - 1, power, power + 1]
        }
        for value in values {
            var writer = JSONWriter()
            writer.uint(value)
            #expect(writer.text == String(value))
        }
    }

    static let doubles: [(value: Double, json: String)] = [
        (0.1, "0.1"),
        (1, "1.0"),
        (-0.0, "-0.0"),
        (1e16, "1e+16"),
        (1.5e-7, "1.5e-07"),
        (.leastNonzeroMagnitude, "5e-324"),
        (.greatestFiniteMagnitude, "1.7976931348623157e+308"),
        (.nan, "null"),
        (.infinity, "null"),
        (-.infinity, "null"),
    ]

    @Test(arguments: doubles)
    func writesShortestRoundTripDoubles(value: Double, json: String) throws {
        var writer = JSONWriter()
        writer.double(value)
        #expect(writer.text == json)
        let parsed = try JSONParser.parse(writer.bytes)
        if value.isFinite {
            #expect(parsed == .double(value))
            #expect(parsed.doubleValue?.sign == value.sign)
        } else {
            #expect(parsed == .null)
        }
    }

    @Test func nonFiniteDoublesStillGetCommas() {
        var writer = JSONWriter()
        writer.beginArray()
        writer.double(1)
        writer.double(.nan)
        writer.double(2)
        writer.endArray()
        #expect(writer.text == "[1.0,null,2.0]")
    }

    @Test func writesValuesWithMembersInStoredOrder() {
        let value = JSONValue.object(
            JSONObject([
                (key: "z", value: .array([.int(1), .double(2.5), .bool(false), .null])),
                (key: "a", value: .object(JSONObject([(key: "s", value: .string("x"))]))),
            ]))
        var writer = JSONWriter()
        writer.value(value)
        #expect(writer.text == #"{"z":[1,2.5,false,null],"a":{"s":"x"}}"#)
    }

    @Test func literalKeysWriteWhatStringKeysWrite() {
        var byString = JSONWriter()
        byString.beginObject()
        byString.field("s", "a\"b")
        byString.field("n", Int64(-12))
        byString.field("b", true)
        byString.field("t", timestamp: 0)
        byString.field("none", nil as String?)
        byString.key("u")
        byString.uint(18_446_744_073_709_551_615)
        byString.endObject()
        var byLiteral = JSONWriter()
        byLiteral.beginObject()
        byLiteral.field(static: "s", "a\"b")
        byLiteral.field(static: "n", Int64(-12))
        byLiteral.field(static: "b", true)
        byLiteral.field(static: "t", timestamp: 0)
        byLiteral.field(static: "none", nil as String?)
        byLiteral.key(static: "u")
        byLiteral.uint(18_446_744_073_709_551_615)
        byLiteral.endObject()
        #expect(byLiteral.text == byString.text)
        #expect(
            byLiteral.text
                == #"{"s":"a\"b","n":-12,"b":true,"t":"1970-01-01T00:00:00.000000Z","none":null,"u":18446744073709551615}"#
        )
    }

    @Test func decimalsOfEveryLength() {
        var writer = JSONWriter()
        writer.beginArray()
        var value: UInt64 = 1
        for _ in 0..<19 {
            writer.uint(value - 1)
            writer.uint(value)
            value *= 10
        }
        writer.int(Int64.min)
        writer.endArray()
        var expected: [String] = []
        value = 1
        for _ in 0..<19 {
            expected += [String(value - 1), String(value)]
            value *= 10
        }
        expected.append(String(Int64.min))
        #expect(writer.text == "[" + expected.joined(separator: ",") + "]")
    }

    @Test func rawMembersTakeTheirPlaceAmongOtherMembers() {
        var writer = JSONWriter()
        writer.beginObject()
        writer.rawMembers(Array(#""a":1,"b":[2]"#.utf8))
        writer.field("c", true)
        writer.rawMembers(Array(#""d":null"#.utf8))
        writer.endObject()
        #expect(writer.text == #"{"a":1,"b":[2],"c":true,"d":null}"#)
    }
}
