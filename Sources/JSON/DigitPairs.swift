/// Decimal digits two at a time, "00" to "99", for the writers on the hot path
/// (``JSONWriter``, ``RFC3339``): one division by 100 and a copy instead of two
/// divisions by 10.
enum DigitPairs {
    private static let table: StaticString = """
        0001020304050607080910111213141516171819\
        2021222324252627282930313233343536373839\
        4041424344454647484950515253545556575859\
        6061626364656667686970717273747576777879\
        8081828384858687888990919293949596979899
        """

    /// Stores the two digits of `value` (0...99) at `out[0]` and `out[1]`.
    @inline(__always)
    static func store(_ value: Int, at out: UnsafeMutablePointer<UInt8>) {
        let pair = table.utf8Start + 2 &* value
        out[0] = pair[0]
        out[1] = pair[1]
    }
}
