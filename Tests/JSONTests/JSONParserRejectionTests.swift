import JSON
import Testing

/// A document the parser must refuse, where, and a fragment of why.
struct Rejection: Sendable, CustomTestStringConvertible {
    var bytes: [UInt8]
    var offset: Int
    var reason: String

    init(_ text: String, at offset: Int, _ reason: String) {
        self.init(Array(text.utf8), at: offset, reason)
    }

    init(_ bytes: [UInt8], at offset: Int, _ reason: String) {
        self.bytes = bytes
        self.offset = offset
        self.reason = reason
    }

    var testDescription: String {
        String(decoding: bytes, as: UTF8.self).debugDescription
    }
}

@Suite struct JSONParserRejectionTests {
    static let structure: [Rejection] = [
        Rejection("", at: 0, "expected a value, found end of input"),
        Rejection("   ", at: 3, "expected a value, found end of input"),
        Rejection("[", at: 1, "expected a value, found end of input"),
        Rejection("[1", at: 2, "expected ',' or ']' after array element, found end of input"),
        Rejection("{", at: 1, "expected '\"' to begin an object key, found end of input"),
        Rejection("[1,]", at: 3, "trailing comma before ']'"),
        Rejection("[1, ]", at: 4, "trailing comma before ']'"),
        Rejection(#"{"a":1,}"#, at: 7, "trailing comma before '}'"),
        Rejection("[,1]", at: 1, "expected a value, found ','"),
        Rejection("[1 2]", at: 3, "expected ',' or ']' after array element, found '2'"),
        Rejection(#"{"a" 1}"#, at: 5, "expected ':' after object key, found '1'"),
        Rejection(#"{"a":1 "b":2}"#, at: 7, "expected ',' or '}' after object member"),
        Rejection("{1:2}", at: 1, "expected '\"' to begin an object key, found '1'"),
        Rejection("{'a':1}", at: 1, "expected '\"' to begin an object key, found '''"),
        Rejection(#"{"a":1,"a":2}"#, at: 7, "duplicate object key"),
        Rejection(#"{"a":{"b":1},"c":{"b":2,"b":3}}"#, at: 24, "duplicate object key"),
        Rejection("true false", at: 5, "unexpected data after the JSON value"),
        Rejection("{} x", at: 3, "unexpected data after the JSON value"),
        Rejection("[1]]", at: 3, "unexpected data after the JSON value"),
        Rejection("tru", at: 3, "expected 'true', found end of input"),
        Rejection("trUe", at: 2, "expected 'true', found 'U'"),
        Rejection("nul", at: 3, "expected 'null'"),
        Rejection("False", at: 0, "expected a value, found 'F'"),
        Rejection("NaN", at: 0, "expected a value, found 'N'"),
        Rejection("Infinity", at: 0, "expected a value, found 'I'"),
        Rejection("undefined", at: 0, "expected a value, found 'u'"),
        Rejection([0xEF, 0xBB, 0xBF, 0x31], at: 0, "expected a value, found byte 0xEF"),
        Rejection([0xC3, 0xA9], at: 0, "expected a value, found byte 0xC3"),
    ]

    static let numbers: [Rejection] = [
        Rejection("01", at: 1, "leading zeros are not allowed in numbers"),
        Rejection("-01", at: 2, "leading zeros are not allowed in numbers"),
        Rejection("[00]", at: 2, "leading zeros are not allowed in numbers"),
        Rejection("-", at: 1, "expected a digit after '-', found end of input"),
        Rejection("-Infinity", at: 1, "expected a digit after '-', found 'I'"),
        Rejection("- 1", at: 1, "expected a digit after '-', found ' '"),
        Rejection("+1", at: 0, "expected a value, found '+'"),
        Rejection(".5", at: 0, "expected a value, found '.'"),
        Rejection("1.", at: 2, "expected a digit after '.', found end of input"),
        Rejection("1.e5", at: 2, "expected a digit after '.', found 'e'"),
        Rejection("1e", at: 2, "expected a digit in the exponent"),
        Rejection("1e+", at: 3, "expected a digit in the exponent"),
        Rejection("0x10", at: 1, "unexpected data after the JSON value"),
        Rejection("1e400", at: 0, "number is too large for a 64-bit float"),
        Rejection("[-1.8e308]", at: 1, "number is too large for a 64-bit float"),
    ]

    static let strings: [Rejection] = [
        Rejection("\"abc", at: 4, "unterminated string"),
        Rejection("\"abc\\", at: 5, "expected an escape after '\\', found end of input"),
        Rejection("\"a\u{1}\"", at: 2, "unescaped control character 0x01 in string"),
        Rejection("\"\t\"", at: 1, "unescaped control character 0x09 in string"),
        Rejection("\"line\nbreak\"", at: 5, "unescaped control character 0x0A in string"),
        Rejection(#""\x""#, at: 1, "invalid escape sequence"),
        Rejection(#""\U0041""#, at: 1, "invalid escape sequence"),
        Rejection(#""\u12""#, at: 1, #"expected 4 hex digits after '\u'"#),
        Rejection(#""\u12"#, at: 5, #"expected 4 hex digits after '\u', found end of input"#),
        Rejection(#""\uD800""#, at: 1, #"unpaired high surrogate in \u escape"#),
        Rejection(#""ab\uDBFFcd""#, at: 3, #"unpaired high surrogate in \u escape"#),
        Rejection(#""\uD800\u0041""#, at: 1, #"unpaired high surrogate in \u escape"#),
        Rejection(#""\uD800\uD800""#, at: 1, #"unpaired high surrogate in \u escape"#),
        Rejection(#""\uD800\n""#, at: 1, #"unpaired high surrogate in \u escape"#),
        Rejection(#""\uDC00""#, at: 1, #"unpaired low surrogate in \u escape"#),
        Rejection(#""\uDE00\uD83D""#, at: 1, #"unpaired low surrogate in \u escape"#),
    ]

    static let utf8: [Rejection] = [
        Rejection([0x22, 0xC3, 0x28, 0x22], at: 1, "invalid UTF-8 in string"),
        Rejection([0x22, 0x80, 0x22], at: 1, "invalid UTF-8 in string"),
        Rejection([0x22, 0xC0, 0xAF, 0x22], at: 1, "invalid UTF-8 in string"),
        Rejection([0x22, 0xE0, 0x80, 0xAF, 0x22], at: 1, "invalid UTF-8 in string"),
        Rejection([0x22, 0xED, 0xA0, 0x80, 0x22], at: 1, "invalid UTF-8 in string"),
        Rejection([0x22, 0xF4, 0x90, 0x80, 0x80, 0x22], at: 1, "invalid UTF-8 in string"),
        Rejection([0x22, 0xF5, 0x80, 0x80, 0x80, 0x22], at: 1, "invalid UTF-8 in string"),
        Rejection([0x22, 0x61, 0xE2, 0x82, 0x22], at: 2, "invalid UTF-8 in string"),
        Rejection([0x22, 0xE2, 0x82], at: 1, "invalid UTF-8 in string"),
        Rejection([0x22, 0xFF, 0x22], at: 1, "invalid UTF-8 in string"),
        Rejection([0x22, 0x5C, 0x6E, 0xC3, 0x22], at: 3, "invalid UTF-8 in string"),
    ]

    @Test(arguments: structure + numbers + strings + utf8)
    func rejects(_ rejection: Rejection) {
        do {
            let value = try JSONParser.parse(rejection.bytes)
            Issue.record("accepted as \(value)")
        } catch {
            #expect(error.offset == rejection.offset)
            #expect(error.reason.hasPrefix(rejection.reason), "\(error)")
        }
    }

    @Test func duplicateKeysAreFoundInLargeObjectsToo() {
        let members = (0..<40).map { #""key\#($0)":\#($0)"# }
        let prefix = "{" + members.joined(separator: ",") + ","
        let document = prefix + #""key31":0}"#
        #expect(throws: JSONError(offset: prefix.utf8.count, reason: "duplicate object key")) {
            try parse(document)
        }
    }

    @Test func canonicallyEquivalentKeysCountAsDuplicates() {
        // The subscript could not tell these apart, so neither may the document.
        let document = "{\"\u{E9}\":1,\"e\u{301}\":2}"
        #expect(throws: JSONError(offset: 8, reason: "duplicate object key")) {
            try parse(document)
        }
    }
}
