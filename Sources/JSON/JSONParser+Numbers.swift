extension JSONParser.Reader {
    /// Reads a number per the RFC 8259 grammar
    /// `-? (0 | [1-9][0-9]*) (.[0-9]+)? ([eE][+-]?[0-9]+)?`.
    ///
    /// Integer literals that fit `Int64` become `.int`. Other numbers become `.double`:
    /// directly when the decimal significand and the power of ten are both exact
    /// doubles (Clinger's fast path: one correctly rounded multiply or divide), else
    /// through the standard library's correctly rounded `Double(String)`. `-0` becomes
    /// `.double(-0.0)` so the sign is not lost.
    mutating func parseNumber() throws(JSONError) -> JSONValue {
        let start = index
        let negative = input[index] == UInt8(ascii: "-")
        if negative { index += 1 }

        var digits = Significand()
        guard let first = digit() else { throw failure("expected a digit after '-'") }
        index += 1
        digits.append(first, isFraction: false)
        if first == 0 {
            if digit() != nil {
                throw JSONError(offset: index, reason: "leading zeros are not allowed in numbers")
            }
        } else {
            while let next = digit() {
                digits.append(next, isFraction: false)
                index += 1
            }
        }

        var isInteger = true
        if peek() == UInt8(ascii: ".") {
            isInteger = false
            index += 1
            guard digit() != nil else { throw failure("expected a digit after '.'") }
            while let next = digit() {
                digits.append(next, isFraction: true)
                index += 1
            }
        }

        var exponent = 0
        if peek() == UInt8(ascii: "e") || peek() == UInt8(ascii: "E") {
            isInteger = false
            index += 1
            let exponentNegative = peek() == UInt8(ascii: "-")
            if exponentNegative || peek() == UInt8(ascii: "+") { index += 1 }
            guard digit() != nil else { throw failure("expected a digit in the exponent") }
            while let next = digit() {
                // Past this bound the fast path is out of reach anyway; the exact
                // text goes to the fallback, so clamping loses nothing.
                if exponent < 100_000 { exponent = exponent * 10 + Int(next) }
                index += 1
            }
            if exponentNegative { exponent = -exponent }
        }

        if isInteger, !digits.truncated, let integer = digits.int64(negative: negative) {
            return .int(integer)
        }
        if let fast = digits.exactDouble(exponent: exponent) {
            return .double(negative ? -fast : fast)
        }
        guard let value = Double(text(from: start)), value.isFinite else {
            throw JSONError(offset: start, reason: "number is too large for a 64-bit float")
        }
        return .double(value)
    }

    /// The value of the ASCII digit at `index`, or `nil` when there is none.
    private func digit() -> UInt8? {
        guard let byte = peek(), byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else {
            return nil
        }
        return byte - UInt8(ascii: "0")
    }
}

/// The first 19 significant decimal digits of a number, which always fit `UInt64`,
/// and the power of ten that places them.
private struct Significand {
    var value: UInt64 = 0
    var count = 0
    var exponent = 0
    /// Whether digits past the first 19 significant ones were dropped.
    var truncated = false

    mutating func append(_ digit: UInt8, isFraction: Bool) {
        guard count < 19 else {
            truncated = true
            if !isFraction { exponent += 1 }
            return
        }
        value = value * 10 + UInt64(digit)
        // Leading zeros keep the value at zero and are not significant.
        if value != 0 { count += 1 }
        if isFraction { exponent -= 1 }
    }

    /// The integer, when it fits `Int64`; `-0` does not count, so it stays a double.
    func int64(negative: Bool) -> Int64? {
        guard exponent == 0 else { return nil }
        if !negative { return value <= UInt64(Int64.max) ? Int64(value) : nil }
        guard value != 0, value <= Int64.min.magnitude else { return nil }
        return Int64(truncatingIfNeeded: 0 &- value)
    }

    /// The magnitude times 10^`extraExponent`, when both factors are exact doubles so
    /// one IEEE operation rounds it correctly.
    func exactDouble(exponent extraExponent: Int) -> Double? {
        guard !truncated else { return nil }
        if value == 0 { return 0 }
        let power = exponent + extraExponent
        guard value <= 1 << 53, (-22...22).contains(power) else { return nil }
        let scale = Significand.exactPowersOfTen[abs(power)]
        return power < 0 ? Double(value) / scale : Double(value) * scale
    }

    /// 10^0 through 10^22, the powers of ten a `Double` holds exactly.
    private static let exactPowersOfTen: [Double] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ]
}
