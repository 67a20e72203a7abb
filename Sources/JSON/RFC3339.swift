/// RFC 3339 timestamps for instants held as `Int64` microseconds since the Unix epoch
/// (1970-01-01T00:00:00Z), the ledger's one representation of time.
///
/// Output is always UTC with exactly six fractional digits,
/// `YYYY-MM-DDTHH:MM:SS.ffffffZ`, so formatting then parsing gives back the same
/// microsecond and the strings sort in time order. Years are limited to 0001...9999.
/// No Foundation: calendar arithmetic is ``CivilDate``'s (Howard Hinnant's algorithms).
public enum RFC3339 {
    /// 0001-01-01T00:00:00.000000Z, the earliest instant that can be formatted or parsed.
    public static let minMicros: Int64 = -62_135_596_800_000_000
    /// 9999-12-31T23:59:59.999999Z, the latest instant that can be formatted or parsed.
    public static let maxMicros: Int64 = 253_402_300_799_999_999

    /// The length of every formatted timestamp.
    static let formattedLength = 27
    static let microsPerSecond: Int64 = 1_000_000
    static let microsPerDay: Int64 = 86_400 * microsPerSecond

    /// Formats an instant as `YYYY-MM-DDTHH:MM:SS.ffffffZ`, for example
    /// `2026-11-23T07:00:00.000000Z` for `1_795_417_200_000_000`.
    ///
    /// - Parameter micros: Microseconds since the Unix epoch. Values outside
    ///   ``minMicros``...``maxMicros`` are clamped to that range, because a year
    ///   outside 0001...9999 has no RFC 3339 form.
    public static func format(micros: Int64) -> String {
        String(unsafeUninitializedCapacity: formattedLength) { buffer in
            render(micros: micros, into: buffer)
            return formattedLength
        }
    }

    /// Writes an instant as a JSON string value, formatted as ``format(micros:)`` does,
    /// without building a `String` (the writer is on the HTTP hot path).
    ///
    /// - Parameters:
    ///   - micros: Microseconds since the Unix epoch, clamped as in ``format(micros:)``.
    ///   - writer: Where the value goes, with a comma first when one is due.
    public static func write(micros: Int64, into writer: inout JSONWriter) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: quotedLength) { buffer in
            writeQuoted(micros: micros, at: buffer.baseAddress.unsafelyUnwrapped)
            writer.raw(UnsafeBufferPointer(buffer))
        }
    }

    /// The length of a timestamp in quotes, as ``writeQuoted(micros:at:)`` writes it.
    public static let quotedLength = formattedLength + 2

    /// Writes an instant as a JSON string value at `out`, which has room for
    /// ``quotedLength`` bytes: the bytes ``write(micros:into:)`` gives a writer
    /// (``JSONBytes``).
    public static func writeQuoted(micros: Int64, at out: UnsafeMutablePointer<UInt8>) {
        out[0] = UInt8(ascii: "\"")
        render(micros: micros, into: UnsafeMutableBufferPointer(start: out + 1, count: formattedLength))
        out[formattedLength + 1] = UInt8(ascii: "\"")
    }

    /// Fills `out`, which holds exactly ``formattedLength`` bytes.
    private static func render(micros: Int64, into out: UnsafeMutableBufferPointer<UInt8>) {
        let clamped = min(max(micros, minMicros), maxMicros)
        // Floor division, so instants before 1970 land on the day they belong to.
        let days = clamped / microsPerDay - (clamped % microsPerDay < 0 ? 1 : 0)
        let ofDay = Int(clamped - days * microsPerDay)
        let date = CivilDate(daysSinceEpoch: Int(days))
        let seconds = ofDay / Int(microsPerSecond)

        let base = out.baseAddress.unsafelyUnwrapped
        DigitPairs.store(date.year / 100, at: base)
        DigitPairs.store(date.year % 100, at: base + 2)
        out[4] = UInt8(ascii: "-")
        DigitPairs.store(date.month, at: base + 5)
        out[7] = UInt8(ascii: "-")
        DigitPairs.store(date.day, at: base + 8)
        out[10] = UInt8(ascii: "T")
        DigitPairs.store(seconds / 3600, at: base + 11)
        out[13] = UInt8(ascii: ":")
        DigitPairs.store(seconds / 60 % 60, at: base + 14)
        out[16] = UInt8(ascii: ":")
        DigitPairs.store(seconds % 60, at: base + 17)
        out[19] = UInt8(ascii: ".")
        let fraction = ofDay % Int(microsPerSecond)
        DigitPairs.store(fraction / 10_000, at: base + 20)
        DigitPairs.store(fraction / 100 % 100, at: base + 22)
        DigitPairs.store(fraction % 100, at: base + 24)
        out[26] = UInt8(ascii: "Z")
    }
}
