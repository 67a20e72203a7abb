import Events
import JSON
import Testing

@Suite struct RFC3339Tests {
    static let known: [(text: String, micros: Int64)] = [
        ("1970-01-01T00:00:00.000000Z", 0),
        ("1969-12-31T23:59:59.999999Z", -1),
        ("2026-11-23T07:00:00.000000Z", 1_795_417_200_000_000),
        ("2000-02-29T12:34:56.789000Z", 951_827_696_789_000),
        ("1969-07-20T20:17:40.000000Z", -14_182_940_000_000),
        ("1600-03-01T00:00:00.000000Z", -11_670_912_000_000_000),
        ("0001-01-01T00:00:00.000000Z", RFC3339.minMicros),
        ("9999-12-31T23:59:59.999999Z", RFC3339.maxMicros),
    ]

    @Test(arguments: known)
    func formatsAndParsesKnownInstants(text: String, micros: Int64) {
        #expect(RFC3339.format(micros: micros) == text)
        #expect(RFC3339.parse(text) == micros)
    }

    @Test func knownBoundsMatchTheirDates() {
        #expect(RFC3339.minMicros == -62_135_596_800 * 1_000_000)
        #expect(RFC3339.maxMicros == 253_402_300_800 * 1_000_000 - 1)
    }

    @Test func formatClampsInstantsOutsideYearsOneToNineThousand() {
        #expect(RFC3339.format(micros: .min) == "0001-01-01T00:00:00.000000Z")
        #expect(RFC3339.format(micros: .max) == "9999-12-31T23:59:59.999999Z")
    }

    @Test func randomInstantsRoundTripExactly() {
        var random = SplitMix64(seed: 5)
        var previous = ""
        var previousMicros = RFC3339.minMicros
        for _ in 0..<20_000 {
            let micros = Int64.random(in: RFC3339.minMicros...RFC3339.maxMicros, using: &random)
            let text = RFC3339.format(micros: micros)
            #expect(text.utf8.count == 27)
            #expect(RFC3339.parse(text) == micros, "\(text)")
            // Formatted timestamps sort in time order.
            #expect((previous < text) == (previousMicros < micros))
            (previous, previousMicros) = (text, micros)
        }
    }

    @Test func everyDayFrom1899To2101MatchesAStepByStepCalendar() {
        // Spans 1900 and 2100 (not leap) and 2000 (leap).
        var (year, month, day) = (1899, 1, 1)
        var micros = RFC3339.parse("1899-01-01T00:00:00Z") ?? 0
        while year < 2102 {
            let expected = "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T00:00:00.000000Z"
            #expect(RFC3339.format(micros: micros) == expected)
            let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
            let length = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
            day += 1
            if day > length { (day, month) = (1, month + 1) }
            if month > 12 { (month, year) = (1, year + 1) }
            micros += 86_400_000_000
        }
    }

    private func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return String(repeating: "0", count: width - digits.count) + digits
    }

    static let accepted: [(text: String, micros: Int64)] = [
        ("2026-11-23T07:00:00Z", 1_795_417_200_000_000),
        ("2026-11-23t07:00:00z", 1_795_417_200_000_000),
        ("2026-11-23 07:00:00Z", 1_795_417_200_000_000),
        ("2026-11-23T08:00:00+01:00", 1_795_417_200_000_000),
        ("2026-11-23T02:30:00-04:30", 1_795_417_200_000_000),
        ("2026-11-24T06:59:00+23:59", 1_795_417_200_000_000),
        ("2026-11-23T07:00:00-00:00", 1_795_417_200_000_000),
        ("2026-11-23T07:00:00.1Z", 1_795_417_200_100_000),
        ("2026-11-23T07:00:00.000001Z", 1_795_417_200_000_001),
        ("2026-11-23T07:00:00.123456789Z", 1_795_417_200_123_456),
        ("2026-11-23T07:00:00.999999999Z", 1_795_417_200_999_999),
        ("2000-02-29T00:00:00Z", 951_782_400_000_000),
        ("2400-02-29T00:00:00Z", 13_574_563_200_000_000),
        ("1969-12-31T23:59:59.999999Z", -1),
    ]

    @Test(arguments: accepted)
    func parsesVariants(text: String, micros: Int64) {
        #expect(RFC3339.parse(text) == micros)
    }

    @Test func leapSecondReadsAsTheLastMicrosecondOfTheMinute() {
        #expect(
            RFC3339.parse("2016-12-31T23:59:60Z") == RFC3339.parse("2016-12-31T23:59:59.999999Z"))
        #expect(
            RFC3339.parse("2016-12-31T23:59:60.5Z") == RFC3339.parse("2016-12-31T23:59:59.999999Z"))
        #expect(RFC3339.parse("2016-12-31T23:59:60Z")! < RFC3339.parse("2017-01-01T00:00:00Z")!)
    }

    @Test func parsesSubstrings() {
        let line = "at=2026-11-23T07:00:00Z;"
        let start = line.index(line.startIndex, offsetBy: 3)
        let end = line.index(before: line.endIndex)
        #expect(RFC3339.parse(line[start..<end]) == 1_795_417_200_000_000)
    }

    static let rejected: [String] = [
        "",
        "2023-02-29T00:00:00Z",
        "1900-02-29T00:00:00Z",
        "2024-02-30T00:00:00Z",
        "2023-04-31T00:00:00Z",
        "2023-13-01T00:00:00Z",
        "2023-00-10T00:00:00Z",
        "2023-01-00T00:00:00Z",
        "2023-01-01T24:00:00Z",
        "2023-01-01T23:60:00Z",
        "2023-01-01T23:59:61Z",
        "0000-12-31T00:00:00Z",
        "2023-01-01T00:00:00",
        "2023-01-01",
        "2023-01-01T00:00Z",
        "2023-01-01T00:00:00.Z",
        "2023-01-01T00:00:00.1234567890Z",
        "2023-01-01T00:00:00+24:00",
        "2023-01-01T00:00:00+01:60",
        "2023-01-01T00:00:00+0100",
        "2023-01-01T00:00:00+01",
        "2023-01-01T00:00:00+01:00:00",
        "2023-01-01T00:00:00ZZ",
        "2023-01-01X00:00:00Z",
        "2023-1-01T00:00:00Z",
        "+2023-01-01T00:00:00Z",
        "2023/01/01T00:00:00Z",
        "２０２３-01-01T00:00:00Z",
        " 2023-01-01T00:00:00Z",
        "2023-01-01T00:00:00Z ",
        "0001-01-01T00:00:00+00:01",
        "9999-12-31T23:59:59-00:01",
    ]

    @Test(arguments: rejected)
    func rejectsInvalidTimestamps(text: String) {
        #expect(RFC3339.parse(text) == nil)
    }
}
