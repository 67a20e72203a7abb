import Glibc
import Synchronization

/// The process's stderr log: every line one JSON object with `time`, `level` and
/// `message` (plus fields), or text for a terminal (``LogFormat``).
///
/// Every writer of stderr goes through here: `Log.info("serving", ["address": "..."])`,
/// or ``LogLine`` to build a line field by field on a hot path. The format is chosen
/// once, at start-up (`--log-format`, `KEYLEDGER_LOG_FORMAT`); JSON until then.
public enum Log {
    private static let textFormat = Atomic<Bool>(false)

    /// The format lines are written in.
    public static var format: LogFormat { textFormat.load(ordering: .relaxed) ? .text : .json }

    /// Chooses the format of every line written from now on.
    public static func use(_ format: LogFormat) { textFormat.store(format == .text, ordering: .relaxed) }

    /// Writes an `info` line: the normal course of things (start, stop, progress).
    public static func info(_ message: String, _ fields: KeyValuePairs<String, LogValue> = [:]) {
        write(.info, message, fields)
    }

    /// Writes a `warning` line: something an operator should look at; work goes on.
    public static func warning(_ message: String, _ fields: KeyValuePairs<String, LogValue> = [:]) {
        write(.warning, message, fields)
    }

    /// Writes an `error` line: what was asked for failed.
    public static func error(_ message: String, _ fields: KeyValuePairs<String, LogValue> = [:]) {
        write(.error, message, fields)
    }

    private static func write(_ level: LogLevel, _ message: String, _ fields: KeyValuePairs<String, LogValue>) {
        var line = LogLine(level, message)
        for (key, value) in fields { line.field(key, value) }
        line.write()
    }

    /// Microseconds since the Unix epoch (`CLOCK_REALTIME`).
    static func nowMicros() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec) / 1000
    }
}
