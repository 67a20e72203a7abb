import Dispatch
import Glibc
import HTTP
import Ledger
import Notify
import Server

/// `keyledger serve`: the API on TCP and a Unix socket.
enum ServeCommand: CLICommand {
    static let name = "serve"
    static let summary = "serve the HTTP API on TCP and a Unix socket"
    static let help = """
        usage: keyledger serve --data DIR [--listen 127.0.0.1:8420] [--socket PATH]
                               [--max-body 65536] [--max-connections 1024] [--max-socket-connections 64]
                               [--max-connections-per-address 256] [--max-unsent-responses 64]
                               [--max-unsent-bytes 262144] [--event-loops 1] [--quiet] [--read-only]
                               [--checkpoint-interval 10] [--publish-checkpoints DIR] [--origin TEXT]
                               [--webhook-ca-file FILE] [--webhook-allow-private] [--webhook-timeout 10]
                               [--webhook-connect-timeout 5] [--webhook-workers 4]
                               [--expiry-warnings 14d,3d,1d] [--leak-reporter-keys FILE] [--leak-policy suspend]

        Serves the API (docs/openapi.yaml) over HTTP/1.1 on the TCP address and, when given, on a
        Unix socket created mode 0600 (requests on it are local administration: no credential).
        Logs one JSON line per request to stderr (--quiet turns that off). SIGINT or SIGTERM stop
        accepting, finish in-flight requests, and exit 0. The ledger must exist (keyledger init).

        Before serving, the hash chain is checked from the last verified point (the whole log
        the first time): on a broken chain serve refuses to start, naming the first bad
        sequence. --read-only serves such a ledger for investigation: reads are answered,
        every write is refused with 503, and nothing on disk changes.

          --data DIR              data directory (KEYLEDGER_DATA)
          --listen HOST:PORT      TCP address, [::1]:PORT for IPv6 (KEYLEDGER_LISTEN)
          --socket PATH           Unix socket path (KEYLEDGER_SOCKET)
          --max-body BYTES        largest request body (KEYLEDGER_MAX_BODY)
          --max-connections N     open TCP connections at most (KEYLEDGER_MAX_CONNECTIONS)
          --max-socket-connections N
                                  open Unix socket connections at most, apart from the TCP ones
                                  (KEYLEDGER_MAX_SOCKET_CONNECTIONS)
          --max-connections-per-address N
                                  open TCP connections from one client address at most
                                  (KEYLEDGER_MAX_CONNECTIONS_PER_ADDRESS)
          --max-unsent-responses N
                                  answers of one connection not yet read by the client past which
                                  it reads no more requests until the client catches up
                                  (KEYLEDGER_MAX_UNSENT_RESPONSES)
          --max-unsent-bytes BYTES
                                  the same bound in bytes (KEYLEDGER_MAX_UNSENT_BYTES)
          --event-loops N         HTTP event-loop threads (KEYLEDGER_EVENT_LOOPS)
          --quiet                 no request log lines
          --read-only             open the ledger read-only: serve reads, refuse writes (503)
          --checkpoint-interval S seconds between signed checkpoints while the log grows; one
                                  more is stored at shutdown (KEYLEDGER_CHECKPOINT_INTERVAL)
          --publish-checkpoints DIR  also write each checkpoint to DIR/<size>.checkpoint, synced
                                  (KEYLEDGER_PUBLISH_CHECKPOINTS)
          --origin TEXT           the checkpoints' first line; default keyledger/<ledger id>
                                  (KEYLEDGER_ORIGIN)
        \(notificationHelp)

        Every option but the flags has an environment variable, named in parentheses.
        """

    static func run(_ args: [String]) throws -> Int32 {
        // Every option of serve is configuration, so each has an environment variable.
        let options = [
            "data", "listen", "socket", "max-body", "max-connections", "max-socket-connections",
            "max-connections-per-address", "max-unsent-responses", "max-unsent-bytes", "event-loops",
            "checkpoint-interval", "publish-checkpoints", "origin",
        ] + notificationOptions
        let parsed = try Arguments(
            args, options: options, flags: ["quiet", "read-only"] + notificationFlags, environment: options)
        let path = try parsed.dataDirectory()
        let (host, port) = try address(parsed.value("listen") ?? "127.0.0.1:8420")
        var configuration = HTTPServerConfiguration()
        configuration.maxBodyBytes = try parsed.integer("max-body", default: 64 * 1024, in: 1...(1 << 30))
        configuration.maxConnections = try parsed.integer("max-connections", default: 1024, in: 1...1_000_000)
        configuration.eventLoops = try parsed.integer("event-loops", default: 1, in: 1...256)
        configuration.maxSocketConnections = try parsed.integer(
            "max-socket-connections", default: configuration.maxSocketConnections, in: 1...65_536)
        configuration.maxConnectionsPerAddress = try parsed.integer(
            "max-connections-per-address", default: configuration.maxConnectionsPerAddress, in: 1...1_048_576)
        configuration.maxUnsentResponses = try parsed.integer(
            "max-unsent-responses", default: configuration.maxUnsentResponses, in: 1...65_536)
        configuration.maxUnsentBytes = try parsed.integer(
            "max-unsent-bytes", default: configuration.maxUnsentBytes, in: 1024...(1 << 30))
        try Ledger.requireExisting(path: path)
        let ledgerOptions = try ledgerOptions(parsed)
        let ledger =
            parsed.has("read-only")
            ? try Ledger.openReadOnly(path: path, options: ledgerOptions) : try Ledger(path: path, options: ledgerOptions)
        guard try ledger.isInitialized() else {
            ledger.close()
            throw UsageError("\(path) holds no ledger yet: run keyledger init --data \(path) first")
        }
        configuration.errorResponse = APIResponder.protocolErrorResponse
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
        var where_ = "http://\(host.contains(":") ? "[\(host)]" : host):\(bound)"
        if let socket = parsed.value("socket") {
            try server.bindUnix(path: socket)
            where_ += " and unix:\(socket)"
        }
        try server.start()
        deliverer?.start()
        writeError("keyledger: serving \(path)\(parsed.has("read-only") ? " read-only" : "") on \(where_)\n")
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
        writeError("keyledger: stopping: finishing in-flight requests\n")
        server.shutdown()
        deliverer?.stop()
        if !parsed.has("read-only") { checkpoints.stop() }
        ledger.close()
        if let socket = parsed.value("socket") { unlink(socket) }
        writeError("keyledger: stopped\n")
        return 0
    }

    /// The checkpoints of `--checkpoint-interval`, `--publish-checkpoints` and `--origin`,
    /// their timer started.
    static func treeCheckpoints(_ ledger: Ledger, _ parsed: Arguments) throws -> TreeCheckpoints {
        let text = parsed.value("checkpoint-interval") ?? "10"
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
