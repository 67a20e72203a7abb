import Foundation
import JSON
import Ledger
import Testing

/// A run of the real binary with stderr in a file: its status and its stderr lines.
struct LoggedRun {
    var status: Int32
    var lines: [String]

    init(_ args: [String], environment: [String: String] = [:]) throws {
        let (process, path) = try startKeyledger(args, environment: environment)
        process.waitUntilExit()
        status = process.terminationStatus
        lines = try stderrLines(path)
    }
}

/// Starts the binary with stderr going to a new file; the process and the file's path.
func startKeyledger(_ args: [String], environment: [String: String] = [:]) throws -> (Process, String) {
    let path = NSTemporaryDirectory() + "keyledger-stderr-" + UUID().uuidString
    guard FileManager.default.createFile(atPath: path, contents: nil) else { throw POSIXError(.EIO) }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: try keyledgerExecutable())
    process.arguments = args
    process.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("KEYLEDGER_") }
        .merging(environment) { $1 }
    process.standardOutput = FileHandle.nullDevice
    process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
    try process.run()
    return (process, path)
}

/// The port a server started by ``startKeyledger(_:environment:)`` serves on, read from its
/// "serving" line in the stderr file at `path` (waiting up to 10 s); nil when none came.
func servingPort(_ path: String) throws -> UInt16? {
    var url: String?
    for _ in 0..<400 where url == nil {
        url =
            try stderrLines(path).compactMap(logObject).first {
                ($0["message"] as? String).map { $0 == "serving" || $0 == "serving read-only" } ?? false
            }?["url"]
            as? String
        if url == nil { Thread.sleep(forTimeInterval: 0.025) }
    }
    return url.flatMap { $0.split(separator: ":").last }.flatMap { UInt16($0) }
}

func stderrLines(_ path: String) throws -> [String] {
    try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
}

/// `line` as a log object when it is one: a JSON object whose `time` is an RFC 3339
/// timestamp, whose `level` is info, warning or error and whose `message` is a string.
func logObject(_ line: String) -> [String: Any]? {
    guard let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any],
        let time = object["time"] as? String, RFC3339.parse(time) != nil,
        let level = object["level"] as? String, ["info", "warning", "error"].contains(level),
        object["message"] is String
    else { return nil }
    return object
}

/// A real server, real replays and failing commands write only log objects on stderr;
/// the server's first line says where it listens; bad requests carrying a secret (in the
/// path, the query, a header, a malformed body, a broken head) and command lines with a
/// secret pasted in the wrong place leave it out of every line.
@Test func everyStderrLineIsOneLogObjectAndNoSecretReachesIt() throws {
    var template = Array("/tmp/keyledger-logs-XXXXXX".utf8CString)
    let dir = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let root = try Ledger.initialize(path: dir)
    let (server, path) = try startKeyledger(["serve", "--data", dir, "--listen", "127.0.0.1:0"])
    let port = try #require(try servingPort(path))
    let client = try RawClient(port: port)
    let created = try client.call(
        "POST", "/v1/keys", json: #"{"owner":"org_1","name":"logged"}"#, headers: ["Authorization": "Bearer \(root)"])
    let secret = try #require(created.data["secret"] as? String)
    #expect(try client.call("POST", "/v1/verify", json: #"{"key":"\#(secret)"}"#).data["valid"] as? Bool == true)
    let bad: [[UInt8]] = [
        RawClient.request("POST", "/v1/verify", json: #"{"key":"\#(secret)","#),
        RawClient.request("POST", "/v1/verify", json: #"{"key":"\#(secret)","nonsense":1}"#),
        RawClient.request("GET", "/v1/keys/\(secret)", headers: ["Authorization": "Bearer \(root)"]),
        RawClient.request("GET", "/v1/keys?owner=\(secret)", headers: ["Authorization": "Bearer \(secret)"]),
        RawClient.request("GET", "/v1/audit", headers: ["Authorization": "Bearer \(secret)x"]),
        RawClient.request("GET", "/\(secret)"),
    ]
    for request in bad {
        let c = try RawClient(port: port)
        c.send(request)
        #expect(try c.read().status >= 400)
    }
    let broken = try RawClient(port: port)
    broken.send(Array("GET /v1/health HTTP/1.1\r\nHost: test\r\nX-Key \(secret)\r\n\r\n".utf8))
    #expect(try broken.read().status == 400)
    kill(server.processIdentifier, SIGTERM)
    server.waitUntilExit()
    #expect(server.terminationStatus == 0)
    let served = try stderrLines(path)
    let replayed = try LoggedRun(["replay", "--data", dir])
    let refused = try LoggedRun(["logs", "--data", dir, "--limt", "1"])
    // A secret pasted where it does not belong is echoed by the error as <secret>.
    let pasted = try LoggedRun(["logs", "--data", dir, secret])
    let pastedRoot = try LoggedRun(["logs", "--data", dir, "--types", "x" + root])
    #expect(replayed.status == 0 && refused.status == 2 && pasted.status == 2 && pastedRoot.status == 2)
    #expect(pasted.lines.first?.contains("unexpected argument <secret>") == true, "\(pasted.lines)")
    #expect(pastedRoot.lines.first?.contains("unknown event type x<secret>") == true, "\(pastedRoot.lines)")
    for line in served + replayed.lines + refused.lines + pasted.lines + pastedRoot.lines {
        #expect(logObject(line) != nil, "not a log object: \(line)")
        #expect(!line.contains(secret) && !line.contains(String(secret.dropLast(6))), "a secret in: \(line)")
        #expect(!line.contains(root), "the root token in: \(line)")
    }
    let messages = (served + replayed.lines).compactMap { logObject($0)?["message"] as? String }
    #expect(messages.first == "serving" && messages.contains("stopped") && messages.contains("replay done"))
    #expect(messages.filter { $0 == "request" }.count >= 8, "\(messages)")
    let error = try #require(refused.lines.first.flatMap(logObject))
    #expect(error["level"] as? String == "error" && refused.lines.count == 1)
    #expect((error["message"] as? String)?.contains("unknown option --limt") == true)
    #expect(error["help"] as? String == "keyledger logs --help")
}

/// `--log-format text` (or `KEYLEDGER_LOG_FORMAT=text`) writes text for a terminal: no line
/// is JSON, an error says so and is followed by the help; a bad format is refused.
@Test func textLogFormatWritesTextLines() throws {
    var template = Array("/tmp/keyledger-logs-XXXXXX".utf8CString)
    let dir = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
    defer { try? FileManager.default.removeItem(atPath: dir) }
    _ = try Ledger.initialize(path: dir)
    let replayed = try LoggedRun(["replay", "--data", dir, "--log-format", "text"])
    #expect(replayed.status == 0)
    #expect(replayed.lines.last?.hasPrefix("keyledger: replay done events=0 seconds=") == true, "\(replayed.lines)")
    let refused = try LoggedRun(["logs", "--data", dir, "--limt", "1"], environment: ["KEYLEDGER_LOG_FORMAT": "text"])
    #expect(refused.status == 2)
    #expect(refused.lines.first == "keyledger: error: unknown option --limt (did you mean --limit?)")
    #expect(refused.lines.contains("usage: keyledger logs --data DIR [options]"))
    for line in replayed.lines + refused.lines { #expect(logObject(line) == nil, "\(line)") }
    let unknown = try LoggedRun(["replay", "--data", dir, "--log-format=yaml"])
    #expect(unknown.status == 2 && unknown.lines.count == 1)
    #expect((logObject(unknown.lines[0])?["message"] as? String) == "--log-format is json or text, not yaml")
}
