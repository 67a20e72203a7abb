import JSON
import Logging
import Testing

/// 2026-12-02T00:30:00.250000Z, the time of the lines below.
let lineTime: Int64 = 1_796_171_400_250_000

/// A JSON line is one object, one line: time, level and message first, then the fields in
/// the order added; quotes, backslashes and line breaks in any text are escaped.
@Test func aJSONLineIsOneObjectOnOneLine() throws {
    var line = LogLine(.warning, "a \"quoted\"\nmessage", timeMicros: lineTime, format: .json)
    line.field("path", "C:\\data\nnext")
    line.field("events", Int64(42))
    line.field("seconds", LogValue.seconds(0.008_007_447))
    let bytes = line.bytes
    #expect(bytes.last == UInt8(ascii: "\n") && bytes.dropLast().allSatisfy { $0 != UInt8(ascii: "\n") })
    let text = String(decoding: bytes.dropLast(), as: UTF8.self)
    #expect(
        text == #"{"time":"2026-12-02T00:30:00.250000Z","level":"warning","message":"a \"quoted\"\nmessage","#
            + #""path":"C:\\data\nnext","events":42,"seconds":0.008}"#)
    let object = try #require(try JSONParser.parse(Array(bytes.dropLast())).objectValue)
    #expect(object["message"]?.stringValue == "a \"quoted\"\nmessage")
    #expect(object["path"]?.stringValue == "C:\\data\nnext")
}

/// A text line reads `keyledger: [level: ]message key=value`; a value that is not one word
/// is quoted, and a line break in the message cannot start a second line.
@Test func aTextLineIsForAPerson() {
    var warning = LogLine(.warning, "projections lag\nthe log", format: .text)
    warning.field("projection", "usage")
    warning.field("behind", Int64(3))
    warning.field("reason", "two words")
    warning.field("empty", "")
    #expect(
        String(decoding: warning.bytes, as: UTF8.self)
            == "keyledger: warning: projections lag the log projection=usage behind=3 reason=\"two words\" empty=\"\"\n"
    )
    var info = LogLine(.info, "stopped", format: .text)
    info.field("seconds", LogValue.seconds(1.5))
    #expect(String(decoding: info.bytes, as: UTF8.self) == "keyledger: stopped seconds=1.5\n")
}
