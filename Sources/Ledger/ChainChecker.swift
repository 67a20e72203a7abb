import Dispatch
import Events
import Glibc
import Store

/// Checks the hash chain off the caller's thread, one check at a time, resuming from the
/// last point found intact.
///
/// Checks run on one thread of their own (started by the first check, at a lower CPU
/// priority, nice 10, so that on a busy machine the event loops and the writer come
/// first). A caller arriving while a check runs shares it when it covers what was asked
/// (a full check covers a resumed one); otherwise it waits for the next check, which
/// every such caller shares. So at most one check runs and one is queued.
final class ChainChecker: @unchecked Sendable {
    // Safe to share: every stored var is only read and written with `condition` locked;
    // `log` and `environment` are immutable and Sendable.
    typealias Completion = @Sendable (Result<ChainReport, LedgerError>) -> Void

    private struct Round {
        var full: Bool
        var waiters: [Completion]
    }

    private let log: EventLog
    private let environment: Environment
    private let condition = Condition()
    private var verifiedPoint: ChainPoint
    private var running: Round?
    private var next: Round?
    private var started = false
    private var stopping = false
    private var finished = false

    init(log: EventLog, environment: Environment, verified: ChainPoint) {
        self.log = log
        self.environment = environment
        verifiedPoint = verified
    }

    /// The furthest point found intact so far (by the check at open or since).
    var verified: ChainPoint {
        condition.lock()
        defer { condition.unlock() }
        return verifiedPoint
    }

    /// Checks the chain from the last verified point (from seq 1 when `full`) and calls
    /// `completion` on the check's thread. Returns at once. After ``stop()``, `completion`
    /// is called at once with `unavailable`.
    func check(full: Bool, completion: @escaping Completion) {
        condition.lock()
        defer { condition.unlock() }
        guard !stopping else {
            completion(.failure(.unavailable("the ledger is closing")))
            return
        }
        if var current = running, current.full || !full {
            current.waiters.append(completion)
            running = current
        } else if running != nil {
            var queued = next ?? Round(full: full, waiters: [])
            queued.full = queued.full || full
            queued.waiters.append(completion)
            next = queued
        } else {
            running = Round(full: full, waiters: [completion])
            condition.signal()
        }
        if !started {
            started = true
            // A serial queue of its own: its block holds one thread for the ledger's life.
            DispatchQueue(label: "keyledger-chain-check").async { self.run() }
        }
    }

    /// Lets the running and queued checks finish and answer, then ends the thread.
    /// Returns when it has ended.
    func stop() {
        condition.lock()
        defer { condition.unlock() }
        stopping = true
        guard started else { return }
        condition.broadcast()
        while !finished { condition.wait() }
    }

    private func run() {
        // On Linux the nice value is per thread, and `who` 0 is the calling thread; lowering
        // one's own priority needs no privilege.
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 10)
        condition.lock()
        while true {
            guard let round = running else {
                if stopping {
                    finished = true
                    condition.broadcast()
                    condition.unlock()
                    return
                }
                condition.wait()
                continue
            }
            let from = round.full ? ChainPoint.origin : verifiedPoint
            condition.unlock()
            let result: Result<ChainReport, LedgerError>
            do {
                result = .success(try environment.read { txn in try log.verifyChain(after: from, in: txn) })
            } catch {
                result = .failure(.unavailable("the ledger cannot be read: \(error)"))
            }
            condition.lock()
            if case .success(let report) = result { verifiedPoint = report.verified }
            let waiters = running?.waiters ?? []
            running = next
            next = nil
            condition.unlock()
            for waiter in waiters { waiter(result) }
            condition.lock()
        }
    }
}
