extension RFC3339 {
    /// Parses an RFC 3339 `date-time` into microseconds since the Unix epoch.
    ///
    /// Accepted: `YYYY-MM-DD`, then `T`, `t` or a space, then `HH:MM:SS`, then
    /// optionally `.` and 1 to 9 fractional digits (digits past the sixth are
    /// truncated, not rounded), then `Z`, `z` or `±HH:MM` (`-00:00` reads as UTC).
    /// Every field is range-checked: month 1...12, the day must exist in that month
    /// (leap years included), hour 0...23, minute 0...59, second 0...60.
    ///
    /// A leap second (`:60`) is accepted in any minute, as there is no leap-second
    /// table here, and read as the last microsecond of that minute (`:59.999999`), so
    /// it still sorts before the next minute.
    ///
    /// - Returns: The instant, or `nil` when the text is not such a timestamp or the
    ///   instant, once converted to UTC, falls outside ``minMicros``...``maxMicros``.
    public static func parse(_ text: some StringProtocol) -> Int64? {
        if let parsed = text.utf8.withContiguousStorageIfAvailable(parse(utf8:)) {
            return parsed
        }
        var copy = String(text)
        return copy.withUTF8(parse(utf8:))
    }

    private static func parse(utf8 text: UnsafeBufferPointer<UInt8>) -> Int64? {
        // The shortest form is `YYYY-MM-DDTHH:MM:SSZ`.
        guard text.count >= 20 else { return nil }

        func number(at start: Int, digits: Int) -> Int? {
            guard start + digits <= text.count else { return nil }
            var value = 0
            for position in start..<(start + digits) {
                guard let digit = digitValue(text[position]) else { return nil }
                value = value * 10 + digit
            }
            return value
        }

        let separator = text[10]
        guard let year = number(at: 0, digits: 4), text[4] == UInt8(ascii: "-"),
            let month = number(at: 5, digits: 2), text[7] == UInt8(ascii: "-"),
            let day = number(at: 8, digits: 2),
            separator == UInt8(ascii: "T") || separator == UInt8(ascii: "t")
                || separator == UInt8(ascii: " "),
            let hour = number(at: 11, digits: 2), text[13] == UInt8(ascii: ":"),
            let minute = number(at: 14, digits: 2), text[16] == UInt8(ascii: ":"),
            var second = number(at: 17, digits: 2)
        else { return nil }

        var index = 19
        var micros = 0
        if text[index] == UInt8(ascii: ".") {
            index += 1
            let fractionStart = index
            while index < text.count, let digit = digitValue(text[index]) {
                if index - fractionStart < 6 { micros = micros * 10 + digit }
                index += 1
            }
            let fractionDigits = index - fractionStart
            guard (1...9).contains(fractionDigits) else { return nil }
            for _ in min(fractionDigits, 6)..<6 { micros *= 10 }
        }

        guard index < text.count else { return nil }
        var offsetSeconds = 0
        switch text[index] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            index += 1
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            guard let offsetHour = number(at: index + 1, digits: 2), offsetHour < 24,
                index + 3 < text.count, text[index + 3] == UInt8(ascii: ":"),
                let offsetMinute = number(at: index + 4, digits: 2), offsetMinute < 60
            else { return nil }
            offsetSeconds = offsetHour * 3600 + offsetMinute * 60
            if text[index] == UInt8(ascii: "-") { offsetSeconds = -offsetSeconds }
            index += 6
        default:
            return nil
        }
        guard index == text.count else { return nil }

        guard (1...9999).contains(year), (1...12).contains(month),
            (1...CivilDate.daysInMonth(month, year: year)).contains(day),
            hour < 24, minute < 60, second <= 60
        else { return nil }
        if second == 60 {
            second = 59
            micros = 999_999
        }

        let days = CivilDate(year: year, month: month, day: day).daysSinceEpoch
        let localSeconds = Int64(days) * 86_400 + Int64(hour * 3600 + minute * 60 + second)
        let utc = (localSeconds - Int64(offsetSeconds)) * microsPerSecond + Int64(micros)
        guard (minMicros...maxMicros).contains(utc) else { return nil }
        return utc
    }

    private static func digitValue(_ byte: UInt8) -> Int? {
        guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
        return Int(byte - UInt8(ascii: "0"))
    }
}
