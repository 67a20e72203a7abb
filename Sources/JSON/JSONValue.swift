/// A parsed JSON document, or one to be written with ``JSONWriter/value(_:)``.
///
/// Numbers keep the distinction the text made: an integer literal (no fraction, no
/// exponent) that fits `Int64` is ``int(_:)``; every other number is ``double(_:)``.
/// `-0` is the one exception: it becomes `.double(-0.0)` so the sign survives.
/// Equality is structural, so `.int(1)` and `.double(1)` differ; use ``intValue`` or
/// ``doubleValue`` to compare numerically.
public enum JSONValue: Sendable, Equatable {
    /// The literal `null`.
    case null
    /// `true` or `false`.
    case bool(Bool)
    /// An integer literal that fits `Int64`.
    case int(Int64)
    /// Any other number; always finite when it comes from ``JSONParser``.
    case double(Double)
    /// A string, already unescaped.
    case string(String)
    /// An array, in document order.
    case array([JSONValue])
    /// An object, members in document order.
    case object(JSONObject)
}

extension JSONValue {
    /// The string, or `nil` when this is not ``string(_:)``.
    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// The integer, or `nil` when this is not an integer.
    ///
    /// A ``double(_:)`` counts when it is integral and within `Int64` range, so `1.0`
    /// and `1e3` read as `1` and `1000`; `1.5` and `1e19` read as `nil`.
    public var intValue: Int64? {
        switch self {
        case .int(let value): value
        case .double(let value): Int64(exactly: value)
        default: nil
        }
    }

    /// The number as a `Double`, or `nil` when this is not a number.
    ///
    /// An ``int(_:)`` beyond ±2^53 is rounded to the nearest `Double`.
    public var doubleValue: Double? {
        switch self {
        case .int(let value): Double(value)
        case .double(let value): value
        default: nil
        }
    }

    /// The Boolean, or `nil` when this is not ``bool(_:)``.
    public var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    /// The elements, or `nil` when this is not ``array(_:)``.
    public var arrayValue: [JSONValue]? {
        if case .array(let value) = self { return value }
        return nil
    }

    /// The object, or `nil` when this is not ``object(_:)``.
    public var objectValue: JSONObject? {
        if case .object(let value) = self { return value }
        return nil
    }

    /// Whether this is ``null``.
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }
}
