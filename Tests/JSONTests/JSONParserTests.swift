import Events
import JSON
import Testing

/// Parses a test document given as text.
func parse(_ text: String, maxDepth: Int = 64) throws(JSONError) -> JSONValue {
    try JSONParser.parse(Array(text.utf8), maxDepth: maxDepth)
}

@Suite struct JSONParserTests {
    @Test func parsesLiteralsWithSurroundingWhitespace() throws {
        #expect(try parse(" \t\r\nnull\n") == .null)
        #expect(try parse("true") == .bool(true))
        #expect(try parse("false") == .bool(false))
    }

    @Test func parsesNestedDocumentKeepingMemberOrder() throws {
        let value = try parse(#"{"z": [1, 2.5, "x", null], "a": {"b": true}, "m": {}}"#)
        let object = try #require(value.objectValue)
        #expect(object.members.map(\.key) == ["z", "a", "m"])
        #expect(object["z"] == .array([.int(1), .double(2.5), .string("x"), .null]))
        #expect(object["a"]?.objectValue?["b"] == .bool(true))
        #expect(object["m"] == .object(JSONObject()))
        #expect(object["missing"] == nil)
    }

    @Test func presentNullDiffersFromAbsent() throws {
        let object = try #require(try parse(#"{"a": null}"#).objectValue)
        #expect(object["a"]?.isNull == true)
        #expect(object["b"] == nil)
    }

    @Test func acceptsEveryCollectionShape() throws {
        let text = #"[1,{"k":"v"}]"#
        let expected = try parse(text)
        #expect(try JSONParser.parse(text.utf8) == expected)
        #expect(try JSONParser.parse(Array(text.utf8)[...]) == expected)
        let fromRawBuffer = try Array(text.utf8).withUnsafeBytes { buffer in
            Result { () throws(JSONError) in try JSONParser.parse(buffer) }
        }.get()
        #expect(fromRawBuffer == expected)
        // A collection without contiguous storage is copied, with the same result.
        #expect(try JSONParser.parse(text.utf8.lazy.map { $0 }) == expected)
    }

    static let strings: [(json: String, value: String)] = [
        (#""""#, ""),
        (#""plain ascii""#, "plain ascii"),
        (#""\"\\\/\b\f\n\r\t""#, "\"\\/\u{8}\u{C}\n\r\t"),
        (#""\u0041\u00e9\u00E9""#, "Aéé"),
        (#""\u0000""#, "\u{0}"),
        (#""\u2028\u2029""#, "\u{2028}\u{2029}"),
        (#""\uD83D\uDE00""#, "😀"),
        (#""\uDBFF\uDFFF""#, "\u{10FFFF}"),
        ("\"héllo 😀 \u{7F} \u{FFFF}\"", "héllo 😀 \u{7F} \u{FFFF}"),
        (#""mixed é \n 😀 \u263A tail""#, "mixed é \n 😀 ☺ tail"),
    ]

    @Test(arguments: strings)
    func unescapesStrings(json: String, value: String) throws {
        #expect(try parse(json) == .string(value))
    }

    static let numbers: [(json: String, value: JSONValue)] = [
        ("0", .int(0)),
        ("-1", .int(-1)),
        ("9223372036854775807", .int(.max)),
        ("-9223372036854775808", .int(.min)),
        ("9223372036854775808", .double(9_223_372_036_854_775_808)),
        ("-9223372036854775809", .double(-9_223_372_036_854_775_808)),
        ("123456789012345678901234567890", .double(1.2345678901234568e29)),
        ("1.0", .double(1)),
        ("1.5", .double(1.5)),
        ("-1.5e-3", .double(-0.0015)),
        ("1e2", .double(100)),
        ("1E+2", .double(100)),
        ("0.1", .double(0.1)),
        ("3.141592653589793", .double(3.141592653589793)),
        ("100000000000000000000000e-5", .double(1e18)),
        ("0.0000000000000000000000000001", .double(1e-28)),
        ("1.7976931348623157e308", .double(.greatestFiniteMagnitude)),
        ("2.2250738585072014e-308", .double(.leastNormalMagnitude)),
        ("5e-324", .double(.leastNonzeroMagnitude)),
        ("1e-400", .double(0)),
        ("0e99999999999999999999", .double(0)),
        ("9007199254740993", .int(9_007_199_254_740_993)),
        ("9007199254740993.0", .double(9_007_199_254_740_992)),
    ]

    @Test(arguments: numbers)
    func parsesNumbers(json: String, value: JSONValue) throws {
        #expect(try parse(json) == value)
    }

    @Test func negativeZeroKeepsItsSign() throws {
        let value = try parse("-0")
        #expect(value.doubleValue?.sign == .minus)
        #expect(value.intValue == 0)
        #expect(try parse("-0.0").doubleValue?.sign == .minus)
        #expect(try parse("0").doubleValue?.sign == .plus)
    }

    @Test func numbersMatchTheStandardLibraryCorrectlyRoundedParse() throws {
        // Covers both the exact fast path and the fallback.
        var random = SplitMix64(seed: 7)
        for _ in 0..<5_000 {
            let digits = String(
                String(UInt64.random(in: 1...UInt64.max, using: &random))
                    .prefix(Int.random(in: 1...19, using: &random)))
            let point = Int.random(in: 0...digits.count, using: &random)
            var text = String(digits.prefix(point)) + "." + String(digits.dropFirst(point))
            if point == 0 { text = "0" + text }
            if point == digits.count { text += "0" }
            text += "e\(Int.random(in: -40...40, using: &random))"
            let expected = try #require(Double(text))
            #expect(try parse(text) == .double(expected), "\(text)")
        }
    }

    @Test func shortestDoubleFormsReadBackExactly() throws {
        var random = SplitMix64(seed: 11)
        for _ in 0..<5_000 {
            let value = Double(bitPattern: random.next())
            guard value.isFinite else { continue }
            #expect(try parse(value.description) == .double(value), "\(value)")
        }
    }

    @Test func accessorsConvertOnlyWhatIsExact() {
        #expect(JSONValue.double(1000).intValue == 1000)
        #expect(JSONValue.double(1.5).intValue == nil)
        #expect(JSONValue.double(1e19).intValue == nil)
        #expect(JSONValue.int(3).doubleValue == 3)
        #expect(JSONValue.string("3").intValue == nil)
        #expect(JSONValue.string("s").stringValue == "s")
        #expect(JSONValue.int(1).stringValue == nil)
        #expect(JSONValue.bool(false).boolValue == false)
        #expect(JSONValue.array([.null]).arrayValue == [.null])
        #expect(JSONValue.null.objectValue == nil)
        #expect(JSONValue.null.isNull)
        #expect(!JSONValue.bool(false).isNull)
    }

    @Test func depthLimitCountsContainers() throws {
        let atLimit = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        #expect(throws: Never.self) { try parse(atLimit) }
        #expect(throws: JSONError(offset: 64, reason: "nesting deeper than 64 levels")) {
            try parse("[" + atLimit + "]")
        }
        #expect(throws: JSONError(offset: 13, reason: "nesting deeper than 3 levels")) {
            try parse(#"{"a":{"b":[1,{"c":0}]}}"#, maxDepth: 3)
        }
        #expect(try parse("1", maxDepth: 0) == .int(1))
        #expect(throws: JSONError.self) { try parse("[]", maxDepth: 0) }
    }

    @Test func hostileNestingFailsFastInsteadOfOverflowingTheStack() {
        let bytes = [UInt8](repeating: UInt8(ascii: "["), count: 1_000_000)
        #expect(throws: JSONError(offset: 64, reason: "nesting deeper than 64 levels")) {
            try JSONParser.parse(bytes)
        }
    }

    @Test func errorDescriptionNamesTheByte() {
        #expect(
            JSONError(offset: 17, reason: "expected ':' after object key").description
                == "invalid JSON at byte 17: expected ':' after object key")
    }
}
