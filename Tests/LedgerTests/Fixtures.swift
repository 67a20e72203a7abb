import Events
import Foundation
import Ledger
import Projections
import Store
import Synchronization
import Testing

/// A fresh directory under /tmp, removed by `remove()`.
struct TempDirectory {
    let path: String

    init() {
        var template = Array("/tmp/keyledger-test-XXXXXX".utf8CString)
        path = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// A clock the test moves by hand.
final class ManualClock: LedgerClock {
    let micros = Mutex<Int64>(1_795_417_200_000_000)

    func now() -> Int64 { micros.withLock { $0 } }
    func monotonicNanos() -> UInt64 { UInt64(now()) * 1000 }
    func advance(seconds: Double) { micros.withLock { $0 += Int64(seconds * 1_000_000) } }
}

let rootContext = CommandContext(
    actor: Actor(kind: .root, id: "root"), ip: IPAddress("127.0.0.1"), requestID: "req_test")

/// A ledger in a temp directory with a manual clock and no background sweeper.
final class LedgerFixture {
    let directory = TempDirectory()
    let clock = ManualClock()
    var ledger: Ledger

    init(options: LedgerOptions = LedgerOptions()) throws {
        ledger = try Self.open(directory.path, clock: clock, options: options)
    }

    static func open(_ path: String, clock: ManualClock, options: LedgerOptions = LedgerOptions()) throws -> Ledger {
        var options = options
        options.clock = clock
        options.sweepInterval = nil
        return try Ledger(path: path, options: options)
    }

    func reopen() throws {
        ledger.close()
        ledger = try Self.open(directory.path, clock: clock)
    }

    deinit {
        ledger.close()
        directory.remove()
    }

    /// The log's head once its readers see every acknowledged event.
    var headSeq: UInt64 {
        try? ledger.awaitLog()
        return (try? ledger.head().seq) ?? 0
    }

    func create(_ configure: (inout KeySpec) -> Void = { _ in }) throws -> (KeyState, String) {
        var spec = KeySpec(owner: "org_42", name: "CRM Sync")
        spec.scopes = ["accounts:read"]
        configure(&spec)
        let made = try wait { done in ledger.createKey(spec, context: rootContext, completion: done) }
        // Read-your-writes for the test's next query (what `minSeq` gives an HTTP client).
        try ledger.awaitProjections()
        return made
    }

    func verify(_ secret: String, _ request: VerifyRequest = VerifyRequest()) throws -> VerifyResult {
        let result = try wait { done in ledger.verify(secret: secret, request, context: rootContext, completion: done) }
        try ledger.awaitProjections()
        return result
    }

    func run(_ command: Command, context: CommandContext = rootContext) throws(LedgerError) -> Outcome {
        try ledger.execute(command, context: context)
    }

    func key(_ command: Command) throws -> KeyState {
        guard case .key(let state) = try run(command) else { throw LedgerError.notFound("no key outcome") }
        return state
    }

    /// Every entry of every table but the log, for comparing projections.
    func projectionDump() throws -> [String: [[UInt8]]] { try dumpProjections(ledger) }

    /// Leaves `projection` as an interrupted rebuild does: `tables` empty, checkpoint 0.
    func forget(_ projection: String, tables: [String]) throws {
        try ledger.projectionEnvironment.write { txn in
            for name in tables { try txn.clear(ledger.projectionEnvironment.table(name)) }
            try Checkpoints(environment: ledger.projectionEnvironment).write(projection, 0, in: txn)
        }
    }
}

/// Waits for a completion-style call on the writer thread.
func wait<T: Sendable>(_ body: (@escaping @Sendable (Result<T, LedgerError>) -> Void) -> Void) throws -> T {
    let done = DispatchSemaphore(value: 0)
    let box = Mutex<Result<T, LedgerError>?>(nil)
    body { result in
        box.withLock { $0 = result }
        done.signal()
    }
    done.wait()
    return try box.withLock { $0! }.get()
}

func expectError(_ expected: LedgerError, _ body: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation)
{
    do {
        try body()
        Issue.record("expected \(expected)", sourceLocation: sourceLocation)
    } catch let error as LedgerError {
        #expect(error == expected, sourceLocation: sourceLocation)
    } catch {
        Issue.record("unexpected \(error)", sourceLocation: sourceLocation)
    }
}
