import Glibc
import JSON

/// One stderr line being built: level, message, then fields in the order added, written
/// in the process's ``Log/format`` by ``write()`` with a single `write(2)`, so that lines
/// of several threads never interleave.
///
/// Never put a secret, a credential, a header value or a request body in a line: the
/// log is read by more people than the ledger is.
public struct LogLine: Sendable {
    private let format: LogFormat
    private var json: JSONWriter
    private var text: [UInt8]

    /// Starts a line.
    ///
    /// - Parameters:
    ///   - level: how much it matters.
    ///   - message: what happened, a sentence without the variable parts where it can be
    ///     (those go in fields), so that lines of one kind share their message.
    ///   - timeMicros: the line's time, microseconds since the Unix epoch; now when nil.
    ///   - format: how the line is written; the process's ``Log/format`` when nil.
    public init(_ level: LogLevel, _ message: String, timeMicros: Int64? = nil, format: LogFormat? = nil) {
        let format = format ?? Log.format
        self.format = format
        json = JSONWriter(capacity: format == .json ? 256 : 0)
        text = []
        switch format {
        case .json:
            json.beginObject()
            json.key("time")
            RFC3339.write(micros: timeMicros ?? Log.nowMicros(), into: &json)
            json.field("level", level.rawValue)
            json.field("message", message)
        case .text:
            text.reserveCapacity(128)
            text += "keyledger: ".utf8
            if level != .info { text += (level.rawValue + ": ").utf8 }
            // A line break in the message would start a line of its own.
            text += message.utf8.map { $0 == 0x0A || $0 == 0x0D ? UInt8(ascii: " ") : $0 }
        }
    }

    /// Adds a text field.
    public mutating func field(_ key: String, _ value: String) {
        switch format {
        case .json: json.field(key, value)
        case .text:
            text += " \(key)=".utf8
            // Quoted (JSON style) when the value would not read as one word.
            if value.isEmpty || value.utf8.contains(where: { $0 <= 0x20 || $0 == UInt8(ascii: "\"") || $0 == 0x7F }) {
                var quoted = JSONWriter(capacity: value.utf8.count + 2)
                quoted.string(value)
                text += quoted.finish()
            } else {
                text += value.utf8
            }
        }
    }

    /// Adds a whole-number field.
    public mutating func field(_ key: String, _ value: Int64) {
        switch format {
        case .json: json.field(key, value)
        case .text: text += " \(key)=\(value)".utf8
        }
    }

    /// Adds a decimal field (`seconds`, rates).
    public mutating func field(_ key: String, _ value: Double) {
        var number = JSONWriter(capacity: 24)
        number.double(value)
        let digits = number.finish()
        switch format {
        case .json:
            json.key(key)
            json.raw(digits)
        case .text: text += " \(key)=".utf8 + digits
        }
    }

    /// Adds a field of any ``LogValue``.
    public mutating func field(_ key: String, _ value: LogValue) {
        switch value {
        case .string(let s): field(key, s)
        case .integer(let n): field(key, n)
        case .decimal(let d): field(key, d)
        }
    }

    /// The finished line, its newline included (a copy: ``write()`` sends it without one).
    public var bytes: [UInt8] {
        var line = self
        return line.finish() + [UInt8(ascii: "\n")]
    }

    /// Ends the line and writes it and its newline to stderr whole, with one `writev(2)`
    /// and no copy of the line (it is written once per request).
    public consuming func write() {
        var newline = UInt8(ascii: "\n")
        let line = finish()
        line.withUnsafeBytes { body in
            withUnsafeMutablePointer(to: &newline) { newline in
                withUnsafeTemporaryAllocation(of: iovec.self, capacity: 2) { parts in
                    var written = 0
                    while written <= body.count {
                        // After a short write (stderr is a full pipe), what is left of both.
                        let rest = max(0, body.count - written)
                        parts[0] = iovec(
                            iov_base: UnsafeMutableRawPointer(
                                mutating: body.baseAddress.map { $0 + (body.count - rest) }),
                            iov_len: rest)
                        parts[1] = iovec(iov_base: newline, iov_len: 1)
                        let n = writev(2, parts.baseAddress, 2)
                        if n < 0, errno == EINTR { continue }
                        guard n > 0 else { return }
                        written += n
                    }
                }
            }
        }
    }

    /// The line without its newline: the JSON object closed, or the text as it is.
    private mutating func finish() -> [UInt8] {
        switch format {
        case .json:
            json.endObject()
            var done = JSONWriter(capacity: 0)
            swap(&done, &json)
            return done.finish()
        case .text: return text
        }
    }
}
