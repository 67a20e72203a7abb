import Dispatch
import Events
import Store
import Synchronization

/// Checks the hash chain off the caller's thread, one check at a time, resuming from the
/// last point found intact.
///
/// Checks run on one serial queue (at most one thread, whatever the number of callers).
/// A caller arriving while a check runs shares it when it covers what was asked (a full
/// check covers a resumed one); otherwise it waits for the next check, which every such
/// caller shares. So at most one check runs and one is queued.
final class ChainChecker: Sendable {
    typealias Completion = @Sendable (Result<ChainReport, LedgerError>) -> Void

    private struct Round {
        var full: Bool
        var waiters: [Completion]
    }

    private struct State {
        var verified: ChainPoint
        var running: Round?
        var next: Round?
    }

    private let log: EventLog
    private let environment: Environment
    private let queue = DispatchQueue(label: "keyledger-chain-check")
    private let state: Mutex<State>

    init(log: EventLog, environment: Environment, verified: ChainPoint) {
        self.log = log
        self.environment = environment
        state = Mutex(State(verified: verified))
    }

    /// The furthest point found intact so far (by the check at open or since).
    var verified: ChainPoint { state.withLock { $0.verified } }

    /// Checks the chain from the last verified point (from seq 1 when `full`) and calls
    /// `completion` on the check's queue. Returns at once.
    func check(full: Bool, completion: @escaping Completion) {
        let start: Bool = state.withLock { state in
            if var running = state.running {
                if running.full || !full {
                    running.waiters.append(completion)
                    state.running = running
                } else {
                    var next = state.next ?? Round(full: full, waiters: [])
                    next.full = next.full || full
                    next.waiters.append(completion)
                    state.next = next
                }
                return false
            }
            state.running = Round(full: full, waiters: [completion])
            return true
        }
        if start { queue.async { self.run() } }
    }

    /// Runs the current round, answers its callers, then the next round if one waits.
    private func run() {
        while true {
            let (full, from) = state.withLock { ($0.running?.full ?? false, $0.verified) }
            let result: Result<ChainReport, LedgerError>
            do {
                let report = try environment.read { txn in
                    try log.verifyChain(after: full ? .origin : from, in: txn)
                }
                result = .success(report)
            } catch {
                result = .failure(.unavailable("the ledger cannot be read: \(error)"))
            }
            let waiters: [Completion] = state.withLock { state in
                if case .success(let report) = result { state.verified = report.verified }
                let waiters = state.running?.waiters ?? []
                state.running = state.next
                state.next = nil
                return waiters
            }
            for waiter in waiters { waiter(result) }
            if state.withLock({ $0.running == nil }) { return }
        }
    }
}
