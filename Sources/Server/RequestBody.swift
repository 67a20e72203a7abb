import Events
import JSON
import Ledger

/// A JSON object body, read field by field: each getter names the field in its error,
/// and ``finish()`` refuses any field nobody asked for.
struct RequestBody {
    private let object: JSONObject
    /// Which members were asked for, by position: bit i of `readMask` for the first 64,
    /// `readBeyond` for the rest (made only for a bigger object). No hashing: every
    /// verification reads a body (hot path, STYLE.md 12).
    private var readMask: UInt64 = 0
    private var readBeyond: [Bool] = []

    /// Parses `bytes` as a JSON object. An empty body is an empty object when `optional`.
    init(_ bytes: [UInt8], optional: Bool = false) throws(APIError) {
        if bytes.isEmpty, optional {
            object = JSONObject()
            return
        }
        guard !bytes.isEmpty else { throw .invalid("body", "a JSON object is required") }
        let value: JSONValue
        do {
            value = try JSONParser.parse(bytes)
        } catch {
            throw .invalid("body", error.description)
        }
        guard case .object(let object) = value else { throw .invalid("body", "must be a JSON object") }
        self.object = object
    }

    /// Refuses fields that were not read.
    func finish() throws(APIError) {
        try Self.refuseUnknown(firstUnread)
    }

    /// The first member, in document order, that was not read.
    var firstUnread: String? {
        for (i, member) in object.members.enumerated() where !wasRead(i) { return member.key }
        return nil
    }

    /// Refuses a body for `field`, a member nobody asked for, if there is one.
    static func refuseUnknown(_ field: String?) throws(APIError) {
        if let field { throw .invalid(field, "unknown field") }
    }

    /// The member named `field` (the parser allows a name once), marked as read.
    mutating func value(_ field: String) -> JSONValue? {
        // Lengths first: most names asked for are not there, and differ in length.
        let length = field.utf8.count
        for (i, member) in object.members.enumerated() where member.key.utf8.count == length && member.key == field {
            markRead(i)
            return member.value
        }
        return nil
    }

    private mutating func markRead(_ i: Int) {
        if i < 64 {
            readMask |= 1 << UInt64(i)
            return
        }
        if readBeyond.isEmpty { readBeyond = Array(repeating: false, count: object.members.count - 64) }
        readBeyond[i - 64] = true
    }

    private func wasRead(_ i: Int) -> Bool {
        i < 64 ? readMask & (1 << UInt64(i)) != 0 : !readBeyond.isEmpty && readBeyond[i - 64]
    }

    /// True when the field is present (even as null).
    func has(_ field: String) -> Bool { object[field] != nil }

    mutating func string(_ field: String, required: Bool = false, maxLength: Int = 10_000) throws(APIError) -> String? {
        try Self.string(value(field), field, required: required, maxLength: maxLength)
    }

    /// The rule of ``string(_:required:maxLength:)`` for the member `v` (nil when absent)
    /// named `field`.
    static func string(_ v: JSONValue?, _ field: String, required: Bool = false, maxLength: Int = 10_000)
        throws(APIError) -> String?
    {
        guard let v, !v.isNull else {
            if required { throw .invalid(field, "is required") }
            return nil
        }
        guard let s = v.stringValue else { throw .invalid(field, "must be a string") }
        guard Self.fits(s, maxLength) else { throw .invalid(field, "must be at most \(maxLength) characters") }
        return s
    }

    /// `s.count <= maxLength`, without counting characters when the UTF-8 length
    /// (never fewer than the characters) already fits.
    static func fits(_ s: String, _ maxLength: Int) -> Bool {
        s.utf8.count <= maxLength || s.count <= maxLength
    }

    mutating func integer(_ field: String, in range: ClosedRange<Int64>) throws(APIError) -> Int64? {
        try Self.integer(value(field), field, in: range)
    }

    /// The rule of ``integer(_:in:)`` for the member `v` (nil when absent) named `field`.
    static func integer(_ v: JSONValue?, _ field: String, in range: ClosedRange<Int64>) throws(APIError)
        -> Int64?
    {
        guard let v, !v.isNull else { return nil }
        guard case .int(let n) = v else { throw .invalid(field, "must be an integer") }
        guard range.contains(n) else { throw .invalid(field, "must be \(range.lowerBound) to \(range.upperBound)") }
        return n
    }

    /// An integer or an explicit null: `.some(nil)` for null, nil when absent.
    mutating func nullableInteger(_ field: String, in range: ClosedRange<Int64>) throws(APIError) -> Int64?? {
        guard let v = value(field) else { return nil }
        if v.isNull { return .some(nil) }
        guard case .int(let n) = v else { throw .invalid(field, "must be an integer or null") }
        guard range.contains(n) else { throw .invalid(field, "must be \(range.lowerBound) to \(range.upperBound)") }
        return .some(n)
    }

    /// A string or an explicit null: `.some(nil)` for null, nil when absent.
    mutating func nullableString(_ field: String, maxLength: Int = 128) throws(APIError) -> String?? {
        guard let v = value(field) else { return nil }
        if v.isNull { return .some(nil) }
        guard let s = v.stringValue else { throw .invalid(field, "must be a string or null") }
        guard Self.fits(s, maxLength) else { throw .invalid(field, "must be at most \(maxLength) characters") }
        return .some(s)
    }

    /// `{"interval": "daily"|"monthly", "amount": n, "dayOfMonth"?: 1..31}` or null.
    mutating func refill(_ field: String) throws(APIError) -> Refill?? {
        guard let v = value(field) else { return nil }
        if v.isNull { return .some(nil) }
        guard let object = v.objectValue else { throw .invalid(field, "must be an object or null") }
        for member in object.members where !["interval", "amount", "dayOfMonth"].contains(member.key) {
            throw .invalid("\(field).\(member.key)", "unknown field")
        }
        guard let text = object["interval"]?.stringValue, let interval = Refill.Interval(wireName: text) else {
            throw .invalid("\(field).interval", "must be daily or monthly")
        }
        guard case .int(let amount)? = object["amount"], (0...KeyRules.maxCredits).contains(amount) else {
            throw .invalid("\(field).amount", "must be an integer from 0 to \(KeyRules.maxCredits)")
        }
        var day: UInt8?
        if let d = object["dayOfMonth"], !d.isNull {
            guard case .int(let n) = d, (1...31).contains(n) else {
                throw .invalid("\(field).dayOfMonth", "must be an integer from 1 to 31")
            }
            day = UInt8(n)
        }
        return .some(Refill(interval: interval, amount: amount, dayOfMonth: day))
    }

    mutating func strings(_ field: String) throws(APIError) -> [String]? {
        try Self.strings(value(field), field)
    }

    /// The rule of ``strings(_:)`` for the member `v` (nil when absent) named `field`.
    static func strings(_ v: JSONValue?, _ field: String) throws(APIError) -> [String]? {
        guard let v, !v.isNull else { return nil }
        guard let array = v.arrayValue else { throw .invalid(field, "must be an array of strings") }
        var out: [String] = []
        for (i, item) in array.enumerated() {
            guard let s = item.stringValue else { throw .invalid("\(field)[\(i)]", "must be a string") }
            out.append(s)
        }
        return out
    }

    mutating func cidrs(_ field: String) throws(APIError) -> [CIDR]? {
        guard let texts = try strings(field) else { return nil }
        var out: [CIDR] = []
        for (i, text) in texts.enumerated() {
            switch CIDR.parse(text) {
            case .success(let range): out.append(range)
            case .failure(.hostBitsSet): throw .invalid("\(field)[\(i)]", "host bits are set after the prefix length")
            case .failure(.badPrefixLength): throw .invalid("\(field)[\(i)]", "bad prefix length")
            case .failure(.notAnAddress): throw .invalid("\(field)[\(i)]", "not an IPv4 or IPv6 address or CIDR")
            }
        }
        return out
    }

    /// An RFC 3339 time or null: `.some(nil)` for null, nil when absent.
    mutating func time(_ field: String) throws(APIError) -> Int64?? {
        guard let v = value(field) else { return nil }
        if v.isNull { return .some(nil) }
        guard let s = v.stringValue, let micros = RFC3339.parse(s) ?? Self.endOfDay(s) else {
            throw .invalid(
                field, "must be an RFC 3339 time such as 2026-11-23T07:00:00Z, a date such as 2026-11-23, or null")
        }
        return .some(micros)
    }

    /// A date alone (`2025-12-31`) as the end of that day, UTC: the next midnight, the
    /// first instant the key no longer works.
    static func endOfDay(_ text: String) -> Int64? {
        guard text.utf8.count == 10, let midnight = RFC3339.parse(text + "T00:00:00Z") else { return nil }
        return midnight + 86_400_000_000
    }

    mutating func rateLimits(_ field: String) throws(APIError) -> [RateLimit]? {
        guard let v = value(field), !v.isNull else { return nil }
        guard let array = v.arrayValue else { throw .invalid(field, "must be an array of {limit, windowSeconds}") }
        var out: [RateLimit] = []
        for (i, item) in array.enumerated() {
            guard let object = item.objectValue else { throw .invalid("\(field)[\(i)]", "must be an object") }
            for member in object.members where !["name", "limit", "windowSeconds"].contains(member.key) {
                throw .invalid("\(field)[\(i)].\(member.key)", "unknown field")
            }
            var name: String?
            if let value = object["name"], !value.isNull {
                guard let text = value.stringValue else { throw .invalid("\(field)[\(i)].name", "must be a string") }
                name = text
            }
            guard case .int(let limit)? = object["limit"], limit >= 1, UInt64(limit) <= KeyRules.maxRateLimit else {
                throw .invalid("\(field)[\(i)].limit", "must be an integer from 1 to \(KeyRules.maxRateLimit)")
            }
            guard case .int(let window)? = object["windowSeconds"], window >= 1,
                window <= Int64(KeyRules.maxWindowSeconds)
            else {
                throw .invalid(
                    "\(field)[\(i)].windowSeconds", "must be an integer from 1 to \(KeyRules.maxWindowSeconds)")
            }
            out.append(RateLimit(name: name, limit: UInt64(limit), windowSeconds: UInt32(window)))
        }
        return out
    }

    /// A string map; with `nullDeletes`, null values are kept as nil (PATCH merge).
    mutating func metadata(_ field: String, nullDeletes: Bool) throws(APIError) -> [String: String?]? {
        guard let v = value(field), !v.isNull else { return nil }
        guard let object = v.objectValue else { throw .invalid(field, "must be an object of strings") }
        guard object.members.count <= KeyRules.maxMetadataEntries else {
            throw .invalid(field, "at most \(KeyRules.maxMetadataEntries) entries")
        }
        var out: [String: String?] = [:]
        for member in object.members {
            if member.value.isNull, nullDeletes {
                out[member.key] = .some(nil)
                continue
            }
            guard let s = member.value.stringValue else {
                throw .invalid("\(field).\(member.key)", nullDeletes ? "must be a string or null" : "must be a string")
            }
            out[member.key] = s
        }
        return out
    }
}
