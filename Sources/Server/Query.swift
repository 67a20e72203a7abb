/// The query string's parameters, percent-decoded. Unknown and repeated parameters are
/// refused by ``finish()`` and ``init(_:)``, naming the parameter.
struct Query {
    private var values: [String: String] = [:]
    private var read: Set<String> = []

    init(_ raw: String) throws(APIError) {
        guard !raw.isEmpty else { return }
        for pair in raw.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = Self.decode(parts[0]) else { throw .invalid("query", "bad percent-encoding") }
            guard let value = Self.decode(parts.count == 2 ? parts[1] : "") else {
                throw .invalid(name, "bad percent-encoding")
            }
            // `minSeq` is every query's, read before the route's (``Consistency``).
            if name == "minSeq" { continue }
            guard values.updateValue(value, forKey: name) == nil else { throw .invalid(name, "given more than once") }
        }
    }

    func finish() throws(APIError) {
        for name in values.keys.sorted() where !read.contains(name) {
            throw .invalid(name, "unknown query parameter")
        }
    }

    mutating func string(_ name: String) -> String? {
        read.insert(name)
        return values[name]
    }

    mutating func integer(_ name: String, in range: ClosedRange<Int>, default fallback: Int? = nil) throws(APIError)
        -> Int?
    {
        guard let text = string(name) else { return fallback }
        guard let n = Int(text), text.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 || $0 == 45 }) else {
            throw .invalid(name, "must be an integer")
        }
        guard range.contains(n) else { throw .invalid(name, "must be \(range.lowerBound) to \(range.upperBound)") }
        return n
    }

    /// `true` or `false`; `fallback` when absent.
    mutating func boolean(_ name: String, default fallback: Bool) throws(APIError) -> Bool {
        switch string(name) {
        case nil: fallback
        case "true": true
        case "false": false
        default: throw .invalid(name, "must be true or false")
        }
    }

    /// `+` is a space in form encoding; `%XX` a byte; the result must be UTF-8.
    static func decode(_ text: Substring) -> String? {
        var bytes: [UInt8] = []
        var utf8 = text.utf8.makeIterator()
        while let b = utf8.next() {
            switch b {
            case UInt8(ascii: "+"): bytes.append(UInt8(ascii: " "))
            case UInt8(ascii: "%"):
                guard let h = utf8.next().flatMap(hex), let l = utf8.next().flatMap(hex) else { return nil }
                bytes.append(h << 4 | l)
            default: bytes.append(b)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hex(_ b: UInt8) -> UInt8? {
        switch b {
        case 48...57: b - 48
        case 65...70: b - 55
        case 97...102: b - 87
        default: nil
        }
    }
}
