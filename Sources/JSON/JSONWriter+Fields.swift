extension JSONWriter {
    /// Writes a whole ``JSONValue``, members of objects in their stored order.
    public mutating func value(_ value: JSONValue) {
        switch value {
        case .null: null()
        case .bool(let bool): self.bool(bool)
        case .int(let int): self.int(int)
        case .double(let double): self.double(double)
        case .string(let string): self.string(string)
        case .array(let elements):
            beginArray()
            for element in elements { self.value(element) }
            endArray()
        case .object(let object):
            beginObject()
            for member in object.members {
                key(member.key)
                self.value(member.value)
            }
            endObject()
        }
    }

    /// Writes an object member whose value is a string, or `null` when `value` is `nil`.
    public mutating func field(_ key: String, _ value: String?) {
        self.key(key)
        if let value { string(value) } else { null() }
    }

    /// Writes an object member whose value is an integer, or `null` when `value` is `nil`.
    public mutating func field(_ key: String, _ value: Int64?) {
        self.key(key)
        if let value { int(value) } else { null() }
    }

    /// Writes an object member whose value is a Boolean, or `null` when `value` is `nil`.
    public mutating func field(_ key: String, _ value: Bool?) {
        self.key(key)
        if let value { bool(value) } else { null() }
    }

    /// Writes an object member whose value is an RFC 3339 timestamp, or `null` when
    /// `micros` is `nil`; see ``RFC3339/write(micros:into:)``.
    public mutating func field(_ key: String, timestamp micros: Int64?) {
        self.key(key)
        if let micros { RFC3339.write(micros: micros, into: &self) } else { null() }
    }

    /// ``field(_:_:)-(String,String?)`` with a literal key (``key(static:)``).
    public mutating func field(static key: StaticString, _ value: String?) {
        self.key(static: key)
        if let value { string(value) } else { null() }
    }

    /// ``field(_:_:)-(String,Int64?)`` with a literal key (``key(static:)``).
    public mutating func field(static key: StaticString, _ value: Int64?) {
        self.key(static: key)
        if let value { int(value) } else { null() }
    }

    /// ``field(_:_:)-(String,Bool?)`` with a literal key (``key(static:)``).
    public mutating func field(static key: StaticString, _ value: Bool?) {
        self.key(static: key)
        if let value { bool(value) } else { null() }
    }

    /// ``field(_:timestamp:)`` with a literal key (``key(static:)``).
    public mutating func field(static key: StaticString, timestamp micros: Int64?) {
        self.key(static: key)
        if let micros { RFC3339.write(micros: micros, into: &self) } else { null() }
    }
}
