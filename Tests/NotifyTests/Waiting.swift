import Dispatch
import Glibc
import Ledger
import Synchronization
import Testing

/// Waits for a ledger call that answers through a completion; its result or its error.
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

/// Polls `condition` every 10 ms for up to 10 s; records an issue when it never holds.
func until(_ what: String, _ condition: () throws -> Bool) throws {
    for _ in 0..<1000 {
        if try condition() { return }
        usleep(10_000)
    }
    Issue.record("timed out waiting for \(what)")
}
