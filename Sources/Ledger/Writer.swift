import Dispatch
import Events
import Glibc
import Projections
import Store

/// The single writer: one thread drains the command queue in batches; each batch is one
/// write transaction and one durable commit, after which every caller of the batch is
/// answered. Under load, batches grow and the fsync is shared.
final class Writer: @unchecked Sendable {
    // Safe to share: `queue`, `stopping` and `finished` are only touched with
    // `condition` locked; `executor` and `environment` are immutable and Sendable.
    struct Job: Sendable {
        var command: Command
        var context: CommandContext
        var completion: @Sendable (Result<Outcome, LedgerError>) -> Void
    }

    /// Called after each durable commit with the new head seq and the batch size.
    typealias CommitObserver = @Sendable (_ headSeq: UInt64, _ batchSize: Int, _ commitNanos: UInt64) -> Void

    let environment: Environment
    let executor: CommandExecutor
    private let observer: CommitObserver?
    private let condition = Condition()
    private var queue: [Job] = []
    private var stopping = false
    private var finished = false
    /// The most jobs one transaction takes; bounds latency under a flood.
    let maxBatch = 4096

    /// Seconds between expiry checks while idle; nil: no sweeping.
    private let sweepInterval: Double?
    /// Lead times of expiry warnings, in seconds (Writer+ExpiryWarnings.swift).
    let warningLeads: [Int64]

    let metrics: LedgerMetrics
    let notifier: CommitNotifier

    init(
        environment: Environment, executor: CommandExecutor, observer: CommitObserver?, sweepInterval: Double?,
        metrics: LedgerMetrics, notifier: CommitNotifier, warningLeads: [Int64] = []
    ) {
        self.warningLeads = warningLeads
        self.metrics = metrics
        self.notifier = notifier
        self.environment = environment
        self.executor = executor
        self.observer = observer
        self.sweepInterval = sweepInterval
        // A serial queue of its own: its block holds one thread for the writer's life.
        DispatchQueue(label: "keyledger-writer", qos: .userInteractive).async { [unowned self] in self.run() }
    }

    /// Queues a job. After ``stop()`` jobs are refused with `unavailable`.
    func submit(_ job: Job) {
        condition.lock()
        guard !stopping else {
            condition.unlock()
            job.completion(.failure(.unavailable("the ledger is shutting down")))
            return
        }
        queue.append(job)
        condition.signal()
        condition.unlock()
    }

    /// Finishes every queued job, then ends the thread. Returns when it has ended.
    func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        while !finished { condition.wait() }
        condition.unlock()
    }

    private func run() {
        var nextSweep = MonotonicTime.now()
        while true {
            condition.lock()
            while queue.isEmpty && !stopping {
                guard let interval = sweepInterval else {
                    condition.wait()
                    continue
                }
                if !condition.wait(until: nextSweep) || MonotonicTime.now() >= nextSweep {
                    nextSweep = MonotonicTime.now().adding(seconds: interval)
                    if sweepIsDue() {
                        queue.append(
                            Job(command: .expireDue, context: CommandContext(actor: .sweeper), completion: { _ in }))
                    }
                    if let warn = warningJob() { queue.append(warn) }
                }
            }
            if queue.isEmpty && stopping {
                finished = true
                condition.broadcast()
                condition.unlock()
                return
            }
            let take = min(queue.count, maxBatch)
            let batch = Array(queue.prefix(take))
            queue.removeFirst(take)
            condition.unlock()
            process(batch)
        }
    }

    /// True when some key's expiry has passed (the sweeper's cheap check: one cursor
    /// step in a read transaction, so idle ledgers append nothing).
    private func sweepIsDue() -> Bool {
        let now = executor.clock.now()
        let due = try? environment.read { txn in try executor.keys.expiring(atOrBefore: now, limit: 1, in: txn) }
        return !(due ?? []).isEmpty
    }

    private func process(_ batch: [Job]) {
        let started = executor.clock.monotonicNanos()
        var head: UInt64 = 0
        let results: [Result<Outcome, LedgerError>]
        do {
            results = try environment.write { txn in
                let results = try executor.run(batch, in: txn)
                head = try executor.log.head(in: txn).seq
                return results
            }
        } catch {
            // Nothing of the batch was committed: every caller learns that.
            let reason = LedgerError.unavailable("the ledger cannot append: \(error)")
            results = Array(repeating: .failure(reason), count: batch.count)
            head = 0
        }
        let nanos = executor.clock.monotonicNanos() &- started
        metrics.recordBatch(size: batch.count, nanos: nanos, failed: head == 0)
        for (job, result) in zip(batch, results) { job.completion(result) }
        if head > 0 {
            notifier.advance(to: head)
            observer?(head, batch.count, nanos)
        }
    }
}
