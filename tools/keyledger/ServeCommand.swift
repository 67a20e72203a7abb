import CSystem
import Dispatch
import Glibc
import HTTP
import Ledger
import Logging
import Notify
import Server

/// `keyledger serve`: the API on TCP and a Unix socket.
enum ServeCommand: CLICommand {
    static let name = "serve"
    static let summary = "serve the HTTP API on TCP and a Unix socket"
    static let about = """
        Serves the API (docs/openapi.yaml) over HTTP/1.1 on the TCP address and, when given, on a
        Unix socket created mode 0600 (requests on it are local administration: no credential).
        Logs one JSON line per request to stderr (--quiet turns that off). SIGINT or SIGTERM stop
        accepting, finish in-flight requests, and exit 0. The ledger must exist (keyledger init).

        Before serving, the hash chain is checked from the last verified point (the whole log
        the first time): on a broken chain serve refuses to start, naming the first bad
        sequence. --read-only serves such a ledger for investigation: reads are answered,
        every write is refused with 503, and nothing on disk changes.

        Every option but the flags is configuration: it has an environment variable.
        """

    /// The HTTP server's own defaults, which the declarations below show.
    private static let http = HTTPServerConfiguration()

    static let options: [Option] = [
        .data,
        .text(
            "listen", "HOST:PORT", configuration: true, default: "127.0.0.1:8420",
            "TCP address; [::1]:PORT for IPv6"),
        .text(
            "socket", "PATH", configuration: true,
            "Unix socket, mode 0600: local administration, no credential"),
        .number(
            "max-body", "BYTES", configuration: true, default: http.maxBodyBytes, in: 1...(1 << 30),
            "largest request body; a larger one is answered 413"),
        .number(
            "max-connections", configuration: true, default: http.maxConnections, in: 1...1_000_000,
            "open TCP connections at most; past it: 503 and close"),
        .number(
            "max-socket-connections", configuration: true, default: http.maxSocketConnections, in: 1...65_536,
            "open Unix socket connections at most, a capacity apart from the TCP one"),
        .number(
            "max-connections-per-address", configuration: true, default: http.maxConnectionsPerAddress,
            in: 1...1_048_576, "open TCP connections from one client address at most"),
        .number(
            "max-unsent-responses", configuration: true, default: http.maxUnsentResponses, in: 1...65_536,
            "answers a client has not read yet past which its connection reads no more requests"),
        .number(
            "max-unsent-bytes", "BYTES", configuration: true, default: http.maxUnsentBytes, in: 1024...(1 << 30),
            "the same bound in bytes"),
        .number(
            "event-loops", configuration: true, default: http.eventLoops, in: 1...256, "HTTP event-loop threads"),
        .number(
            "priority", configuration: true, default: 0, in: -20...0,
            "nice value of the threads every request waits on (event loops, writer), like nginx's "
                + "worker_priority; below 0 needs CAP_SYS_NICE"),
        .text(
            "checkpoint-interval", "S", configuration: true, default: "10",
            "seconds between signed checkpoints while the log grows (more than 0, at most 86400); "
                + "one more is stored at shutdown"),
        .text(
            "publish-checkpoints", "DIR", configuration: true,
            "also write each checkpoint to DIR/<size>.checkpoint, synced"),
        .text(
            "origin", "TEXT", configuration: true, shownDefault: "keyledger/<ledger id>",
            "the checkpoints' first line"),
        .number(
            "journal-ms", "MS", configuration: true, default: 5, in: 0...1000,
            "milliseconds acknowledged batches wait in DIR/journal before one LMDB commit makes them readable; "
                + "0: every batch is its own LMDB commit"),
        .number(
            "gather-us", "US", configuration: true, default: 100, in: 0...10_000,
            "microseconds a batch of commands smaller than the writer's last one waits for more before its "
                + "synced write (one write then covers them all); a lone client never waits; 0: no waiting"),
        .text(
            "writer", "WHERE", configuration: true, default: "loop",
            "where batches of commands are decided and synced: loop (on the first event loop, between its turns: "
                + "no hand-off between threads) or thread (a writer thread of its own)"),
        .flag("read-only", "open the ledger read-only: reads answered, writes 503, nothing on disk changes"),
        .flag("quiet", "no request log lines"),
    ] + notificationOptions

    static func run(_ args: [String]) throws -> Int32 {
        let parsed = try parse(args)
        let path = try parsed.dataDirectory()
        let (host, port) = try address(parsed.value("listen") ?? "")
        var configuration = HTTPServerConfiguration()
        configuration.maxBodyBytes = try parsed.integer("max-body")
        configuration.maxConnections = try parsed.integer("max-connections")
        configuration.eventLoops = try parsed.integer("event-loops")
        configuration.maxSocketConnections = try parsed.integer("max-socket-connections")
        configuration.maxConnectionsPerAddress = try parsed.integer("max-connections-per-address")
        configuration.maxUnsentResponses = try parsed.integer("max-unsent-responses")
        configuration.maxUnsentBytes = try parsed.integer("max-unsent-bytes")
        let priority = Int32(try parsed.integer("priority"))
        if priority < 0 {
            // Checked here, on this thread, so a missing privilege is an error at start-up.
            guard csys_set_thread_nice(priority) == 0 else {
                throw UsageError("--priority \(priority) needs CAP_SYS_NICE (root, or the capability granted)")
            }
            _ = csys_set_thread_nice(0)
        }
        configuration.loopNice = priority
        let writerOnLoop: Bool
        switch parsed.value("writer") ?? "loop" {
        case "loop": writerOnLoop = true
        case "thread": writerOnLoop = false
        case let other: throw UsageError("--writer is loop or thread, not \(other)")
        }
        try Ledger.requireExisting(path: path)
        var ledgerOptions = try ledgerOptions(parsed)
        ledgerOptions.requestNice = priority
        let ledger =
            parsed.has("read-only")
            ? try Ledger.openReadOnly(path: path, options: ledgerOptions) : try Ledger(path: path, options: ledgerOptions)
        guard try ledger.isInitialized() else {
            ledger.close()
            throw UsageError("\(path) holds no ledger yet: run keyledger init --data \(path) first")
        }
        configuration.errorResponse = APIResponder.protocolErrorResponse
        if writerOnLoop { configuration.loopWork = WriterOnLoop(ledger) }
        let checkpoints = try treeCheckpoints(ledger, parsed)
        let (settings, deliverer): (NotificationSettings, Deliverer?)
        do {
            (settings, deliverer) = try notifications(ledger, path: path, parsed)
        } catch {
            ledger.close()
            throw error
        }
        let responder = APIResponder(
            ledger: ledger, logRequests: !parsed.has("quiet"), checkpoints: checkpoints, notifications: settings)
        let server = HTTPServer(configuration: configuration, responder: responder)
        let bound = try server.bindTCP(host: host, port: port)
        let url = "http://\(host.contains(":") ? "[\(host)]" : host):\(bound)"
        if let socket = parsed.value("socket") { try server.bindUnix(path: socket) }
        try server.start()
        deliverer?.start()
        var serving = LogLine(.info, parsed.has("read-only") ? "serving read-only" : "serving")
        serving.field("data", path)
        serving.field("url", url)
        if let socket = parsed.value("socket") { serving.field("socket", socket) }
        serving.write()
        let stop = DispatchSemaphore(value: 0)
        var sources: [any DispatchSourceSignal] = []
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { stop.signal() }
            source.resume()
            sources.append(source)
        }
        stop.wait()
        Log.info("stopping: finishing in-flight requests")
        server.shutdown()
        deliverer?.stop()
        if !parsed.has("read-only") { checkpoints.stop() }
        ledger.close()
        if let socket = parsed.value("socket") { unlink(socket) }
        Log.info("stopped")
        return 0
    }

    /// The checkpoints of `--checkpoint-interval`, `--publish-checkpoints` and `--origin`,
    /// their timer started.
    static func treeCheckpoints(_ ledger: Ledger, _ parsed: Arguments) throws -> TreeCheckpoints {
        let text = parsed.value("checkpoint-interval") ?? ""
        guard let interval = Double(text), interval > 0, interval <= 86_400 else {
            ledger.close()
            throw UsageError("--checkpoint-interval takes seconds (more than 0, at most 86400), not \(text)")
        }
        let publish = parsed.value("publish-checkpoints")
        if let publish {
            var st = stat()
            guard stat(publish, &st) == 0, st.st_mode & S_IFMT == S_IFDIR else {
                ledger.close()
                throw UsageError("--publish-checkpoints \(publish) is not a directory")
            }
        }
        let checkpoints: TreeCheckpoints
        do {
            checkpoints = try TreeCheckpoints(
                ledger: ledger, options: .init(origin: parsed.value("origin"), publishDirectory: publish))
        } catch {
            ledger.close()
            throw error
        }
        // A read-only ledger stores nothing: it signs the current tree on request only.
        if !parsed.has("read-only") { checkpoints.start(interval: interval) }
        return checkpoints
    }

    /// `host:port` or `[v6]:port`.
    static func address(_ text: String) throws -> (String, UInt16) {
        guard let colon = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: colon)...]) else {
            throw UsageError("--listen takes HOST:PORT, not \(text)")
        }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host, port)
    }
}
