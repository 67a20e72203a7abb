import Foundation
import Glibc
import Ledger
import Testing

/// The nice value of each thread of process `pid`, by thread name.
private func niceValues(of pid: Int32) -> [String: [Int]] {
    let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
    var result: [String: [Int]] = [:]
    for tid in tasks {
        guard let comm = try? String(contentsOfFile: "/proc/\(pid)/task/\(tid)/comm", encoding: .utf8),
            let stat = try? String(contentsOfFile: "/proc/\(pid)/task/\(tid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { continue }
        // After "(comm) ": the state is field 3 and nice field 19.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        if fields.count > 16, let nice = Int(fields[16]) {
            result[comm.trimmingCharacters(in: .whitespacesAndNewlines), default: []].append(nice)
        }
    }
    return result
}

/// `serve --priority -5` runs the threads every request waits on (the event loop, which
/// also runs the writer's batches, or with `--writer thread` the loop and the writer's
/// thread) at nice -5 and leaves the projector behind them at 10; no other thread of the
/// process takes it, and with the batches on the loop no writer thread is left.
@Test(
    .enabled(if: getuid() == 0, "a negative nice needs CAP_SYS_NICE"),
    arguments: [("loop", ["http-loop"]), ("thread", ["http-loop", "kl-writer"])])
func thePriorityOptionRaisesTheRequestPathOnly(writer: String, raised: [String]) throws {
    var template = Array("/tmp/keyledger-priority-XXXXXX".utf8CString)
    let dir = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let root = try Ledger.initialize(path: dir)
    let (server, path) = try startKeyledger([
        "serve", "--data", dir, "--listen", "127.0.0.1:0", "--priority", "-5", "--writer", writer,
    ])
    defer {
        server.interrupt()
        server.waitUntilExit()
        try? FileManager.default.removeItem(atPath: path)
    }
    let port = try #require(try servingPort(path))
    // One command, so every thread of the path has run.
    let created = try RawClient(port: port).call(
        "POST", "/v1/keys", json: #"{"owner":"org_1","name":"k"}"#, headers: ["Authorization": "Bearer \(root)"])
    #expect(created.status == 201)
    let nice = niceValues(of: server.processIdentifier)
    for name in raised {
        #expect(nice[name] == [-5], "\(name): \(nice[name] ?? [])")
    }
    if !raised.contains("kl-writer") { #expect(nice["kl-writer"] == nil, "\(nice)") }
    #expect(nice["kl-projector"] == [10], "\(nice)")
    // No other thread took the raised value (Dispatch keeps its own for its QoS classes).
    #expect(nice.filter { !raised.contains($0.key) }.values.allSatisfy { !$0.contains(-5) }, "\(nice)")
}

/// `--writer` is `loop` or `thread`; anything else is refused at start-up, naming the option.
@Test func anUnknownWriterPlaceIsRefused() throws {
    let dir = NSTemporaryDirectory() + "keyledger-writer-" + UUID().uuidString
    defer { try? FileManager.default.removeItem(atPath: dir) }
    _ = try Ledger.initialize(path: dir)
    let run = try LoggedRun(["serve", "--data", dir, "--listen", "127.0.0.1:0", "--writer", "both"])
    #expect(run.status != 0)
    #expect(run.lines.joined().contains("--writer is loop or thread, not both"), "\(run.lines)")
}

/// A priority outside -20...0 (a positive one would put requests behind the folds) is
/// refused at start-up, naming the option.
@Test func aPriorityOutOfRangeIsRefused() throws {
    let run = try LoggedRun(["serve", "--data", "/nonexistent", "--priority", "5"])
    #expect(run.status != 0)
    #expect(run.lines.joined().contains("--priority"), "\(run.lines)")
}
