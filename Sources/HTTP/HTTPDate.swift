internal import Glibc

/// The `Date` field value (IMF-fixdate, RFC 9110 section 5.6.7), formatted at most once
/// a second. Owned by one event loop.
struct HTTPDate {
    private var second: time_t = -1
    private(set) var bytes: [UInt8] = []

    /// Brings the value up to date with the wall clock and returns it.
    mutating func current() -> [UInt8] {
        let now = time(nil)
        if now != second {
            second = now
            bytes = Self.format(now)
        }
        return bytes
    }

    /// `Sun, 06 Nov 1994 08:49:37 GMT` for `seconds` since the epoch.
    static func format(_ seconds: time_t) -> [UInt8] {
        var clock = seconds
        var parts = tm()
        gmtime_r(&clock, &parts)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        var text: [UInt8] = []
        text.reserveCapacity(29)
        text.append(contentsOf: days[Int(parts.tm_wday) % 7].utf8)
        text.append(contentsOf: ", ".utf8)
        appendTwoDigits(Int(parts.tm_mday), to: &text)
        text.append(ASCII.space)
        text.append(contentsOf: months[Int(parts.tm_mon) % 12].utf8)
        text.append(ASCII.space)
        ResponseEncoder.appendDecimal(Int(parts.tm_year) + 1900, to: &text)
        text.append(ASCII.space)
        appendTwoDigits(Int(parts.tm_hour), to: &text)
        text.append(ASCII.colon)
        appendTwoDigits(Int(parts.tm_min), to: &text)
        text.append(ASCII.colon)
        appendTwoDigits(Int(parts.tm_sec), to: &text)
        text.append(contentsOf: " GMT".utf8)
        return text
    }

    private static func appendTwoDigits(_ value: Int, to text: inout [UInt8]) {
        text.append(ASCII.zero + UInt8(value / 10 % 10))
        text.append(ASCII.zero + UInt8(value % 10))
    }
}
