import CSystem
import Dispatch
import Events
import Glibc
import Projections
import Store
import Synchronization

/// The single writer: one thread drains the command queue in batches; each batch is
/// decided in memory and appended in one write transaction of the log. The commit syncs
/// the batch's data; the sync that makes the commit itself durable (LMDB's meta page,
/// `MDB_NOMETASYNC`) is left to a second thread, the answerer, which answers every
/// caller of the batch once it has completed — while the writer already decides and
/// commits the next batch, whose own data sync covers the previous commit. Under load,
/// batches grow and the syncs are shared. The projections are folded behind by the
/// ``Projector``, from durable commits only.
final class Writer: @unchecked Sendable {
    // Safe to share: `queue`, `stopping` and `finished` are only touched with
    // `condition` locked; `executor` is used on the writer's thread only;
    // `answering` is written and read on the writer's thread only.
    struct Job: Sendable {
        var command: Command
        var context: CommandContext
        /// The result and the log's seq after the command (its last event's, or the
        /// head before it when it appended none).
        var completion: @Sendable (Result<Outcome, LedgerError>, UInt64) -> Void
    }

    /// Called once each batch is durable (after its callers are answered), with the new
    /// head seq, the batch size and the nanoseconds the writer took to decide and commit it.
    typealias CommitObserver = @Sendable (_ headSeq: UInt64, _ batchSize: Int, _ commitNanos: UInt64) -> Void

    private let environment: Environment
    /// Keeps the log's file zero-filled ahead of its pages (cheaper commit syncs).
    private let zeroFill: ZeroFill
    let executor: CommandExecutor
    private let projector: Projector
    private let observer: CommitObserver?
    private let condition = Condition()
    private var queue: [Job] = []
    private var spare: [Job] = []
    /// Work for the writer's thread between batches (``onWriterThread(_:)``).
    private var chores: [@Sendable () -> Void] = []
    private var stopping = false
    private var finished = false

    /// Committed batches waiting for the sync that makes them durable, for the answerer
    /// thread; guarded by `answerCondition`.
    private struct Committed {
        var jobs: [Job]
        var results: [Result<Outcome, LedgerError>]
        var seqs: [UInt64]
        /// The log's head after the batch; 0 when the batch failed (nothing to sync).
        var head: UInt64
        /// Nanoseconds the writer took to decide and commit it.
        var nanos: UInt64 = 0
    }
    private let answerCondition = Condition()
    private var toAnswer: [Committed] = []
    private var answererStopping = false
    private var answererFinished = false
    /// The highest head a completed sync has made durable: a commit that wrote anything
    /// synced its data, and with it the meta page of the commit before it.
    private let durable = Atomic<UInt64>(0)
    /// Set when a sync failed: the log's durability is unknown, so nothing more is
    /// acknowledged (the reason is every later caller's answer).
    private let syncFailure = Mutex<String?>(nil)
    /// True while the writer decides and commits a batch: that commit's data sync will
    /// make every batch handed before it durable, so the answerer waits for it (a little)
    /// rather than sync the same file a second time.
    private let deciding = Atomic<Bool>(false)
    /// How long the answerer waits for the writer's next commit before syncing itself.
    private let coverWait = 0.000_3
    /// The most jobs one transaction takes; bounds latency under a flood.
    let maxBatch = 4096

    /// Seconds between expiry checks while idle; nil: no sweeping.
    private let sweepInterval: Double?
    /// Lead times of expiry warnings, in seconds (Writer+ExpiryWarnings.swift).
    let warningLeads: [Int64]

    let metrics: LedgerMetrics
    let notifier: CommitNotifier
    /// The log's head after the last commit (durable or not yet).
    private let committed = Atomic<UInt64>(0)
    /// The log's head after the last durable commit: what callers have been answered.
    var committedHead: UInt64 { durable.load(ordering: .acquiring) }

    /// Keys in the decision state and the bytes its storage holds, as of the last batch.
    let decisionKeys = Atomic<Int>(0)
    let decisionBytes = Atomic<Int>(0)

    private func publishDecisionSize() {
        decisionKeys.store(executor.decisions.count, ordering: .relaxed)
        decisionBytes.store(executor.decisions.approximateBytes, ordering: .relaxed)
    }

    /// The answerer thread's id, and the seq of the job being answered on it.
    private let thread = Atomic<UInt>(0)
    private(set) var answering: UInt64 = 0

    init(
        environment: Environment, executor: CommandExecutor, projector: Projector, observer: CommitObserver?,
        sweepInterval: Double?, metrics: LedgerMetrics, notifier: CommitNotifier, head: UInt64,
        warningLeads: [Int64] = []
    ) {
        self.warningLeads = warningLeads
        self.metrics = metrics
        self.notifier = notifier
        self.environment = environment
        zeroFill = ZeroFill(environment)
        self.executor = executor
        self.projector = projector
        self.observer = observer
        self.sweepInterval = sweepInterval
        committed.store(head, ordering: .releasing)
        durable.store(head, ordering: .releasing)
        // Serial queues of their own: each block holds one thread for the writer's life.
        DispatchQueue(label: "keyledger-writer", qos: .userInteractive).async { [unowned self] in self.run() }
        DispatchQueue(label: "keyledger-answerer", qos: .userInteractive).async { [unowned self] in self.answer() }
    }

    /// The seq of the job whose completion runs now, when called from that completion
    /// (on the answerer's thread); nil on any other thread.
    var seqOfAnswer: UInt64? {
        UInt(pthread_self()) == thread.load(ordering: .acquiring) ? answering : nil
    }

    /// Queues a job. After ``stop()`` jobs are refused with `unavailable`.
    func submit(_ job: Job) {
        condition.lock()
        guard !stopping else {
            condition.unlock()
            job.completion(.failure(.unavailable("the ledger is shutting down")), committedHead)
            return
        }
        queue.append(job)
        if queue.count == 1 { condition.signal() }
        condition.unlock()
    }

    /// Runs `body` on the writer's thread between two batches and waits for it.
    func onWriterThread(_ body: @escaping @Sendable (CommandExecutor) -> Void) {
        let done = DispatchSemaphore(value: 0)
        let executor = self.executor
        condition.lock()
        chores.append {
            body(executor)
            done.signal()
        }
        condition.signal()
        condition.unlock()
        done.wait()
    }

    /// Finishes every queued job and answers it, then ends both threads. Returns when
    /// they have ended.
    func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        while !finished { condition.wait() }
        condition.unlock()
        answerCondition.lock()
        answererStopping = true
        answerCondition.broadcast()
        while !answererFinished { answerCondition.wait() }
        answerCondition.unlock()
    }

    private func run() {
        _ = csys_set_thread_name("kl-writer")
        publishDecisionSize()
        var nextSweep = MonotonicTime.now()
        var batch: [Job] = []
        while true {
            condition.lock()
            while !chores.isEmpty {
                let chore = chores.removeFirst()
                condition.unlock()
                chore()
                condition.lock()
            }
            while queue.isEmpty && chores.isEmpty && !stopping {
                guard let interval = sweepInterval else {
                    condition.wait()
                    continue
                }
                if !condition.wait(until: nextSweep) || MonotonicTime.now() >= nextSweep {
                    nextSweep = MonotonicTime.now().adding(seconds: interval)
                    let now = executor.clock.now()
                    if executor.decisions.hasExpiring(atOrBefore: now) || executor.quotas.hasDue(atOrBefore: now) {
                        queue.append(
                            Job(command: .expireDue, context: CommandContext(actor: .sweeper), completion: { _, _ in }))
                    }
                    if let warn = warningJob() { queue.append(warn) }
                }
            }
            if !chores.isEmpty {
                condition.unlock()
                continue
            }
            if queue.isEmpty && stopping {
                finished = true
                condition.broadcast()
                condition.unlock()
                return
            }
            if queue.count <= maxBatch {
                // Swap the queue for the spare array: no copy under the lock.
                swap(&queue, &spare)
                batch = spare
                spare.removeAll(keepingCapacity: true)
            } else {
                batch = Array(queue.prefix(maxBatch))
                queue.removeFirst(maxBatch)
            }
            deciding.store(true, ordering: .releasing)
            condition.unlock()
            process(batch)
            deciding.store(false, ordering: .releasing)
            batch.removeAll(keepingCapacity: true)
            zeroFill.zeroFillAhead()
        }
    }

    private func process(_ batch: [Job]) {
        let started = executor.clock.monotonicNanos()
        var head: UInt64 = 0
        var results: [Result<Outcome, LedgerError>]
        var seqs: [UInt64]
        let before = committed.load(ordering: .acquiring)
        if let failure = syncFailure.withLock({ $0 }) {
            // The log's durability is unknown since a sync failed: acknowledge nothing more.
            results = Array(repeating: .failure(.unavailable(failure)), count: batch.count)
            seqs = Array(repeating: before, count: batch.count)
            hand(Committed(jobs: batch, results: results, seqs: seqs, head: 0))
            return
        }
        do {
            (results, seqs) = try environment.writeDeferringMetaSync { txn in
                let run = try executor.run(batch, in: txn)
                head = try executor.log.head(in: txn).seq
                return run
            }
            executor.committed()
        } catch {
            // Nothing of the batch was committed: every caller learns that, and the
            // decision state forgets the batch.
            executor.rollbackBatch()
            let reason = LedgerError.unavailable("the ledger cannot append: \(error)")
            results = Array(repeating: .failure(reason), count: batch.count)
            seqs = Array(repeating: before, count: batch.count)
            head = 0
        }
        let nanos = executor.clock.monotonicNanos() &- started
        metrics.recordBatch(size: batch.count, nanos: nanos, failed: head == 0)
        if head > 0 {
            publishDecisionSize()
            // This commit wrote, so its data sync also made the commit before it durable.
            if head > before {
                durable.max(before, ordering: .acquiringAndReleasing)
                metrics.recordSync(byCommit: true)
            }
            committed.store(head, ordering: .releasing)
        }
        hand(Committed(jobs: batch, results: results, seqs: seqs, head: head, nanos: nanos))
    }

    /// Passes a committed (or failed) batch to the answerer.
    private func hand(_ batch: Committed) {
        answerCondition.lock()
        toAnswer.append(batch)
        if toAnswer.count == 1 { answerCondition.signal() }
        answerCondition.unlock()
    }

    /// The answerer's thread: takes every committed batch waiting, syncs the log once
    /// unless a later commit's data sync already made them durable, then moves the
    /// durable head on (projector, long polls) and answers every caller, in order.
    private func answer() {
        _ = csys_set_thread_name("kl-answerer")
        thread.store(UInt(pthread_self()), ordering: .releasing)
        var batches: [Committed] = []
        var spareBatches: [Committed] = []
        while true {
            answerCondition.lock()
            while toAnswer.isEmpty && !answererStopping { answerCondition.wait() }
            if toAnswer.isEmpty {
                answererFinished = true
                answerCondition.broadcast()
                answerCondition.unlock()
                return
            }
            swap(&toAnswer, &spareBatches)
            batches = spareBatches
            spareBatches.removeAll(keepingCapacity: true)
            answerCondition.unlock()
            let head = batches.reduce(0) { max($0, $1.head) }
            if head > durable.load(ordering: .acquiring) && deciding.load(ordering: .acquiring) {
                // The batch being decided commits with a data sync that covers these
                // batches' commits; it hands itself over when done, which wakes this wait.
                let deadline = MonotonicTime.now().adding(seconds: coverWait)
                answerCondition.lock()
                while toAnswer.isEmpty && deciding.load(ordering: .acquiring)
                    && head > durable.load(ordering: .acquiring)
                {
                    if !answerCondition.wait(until: deadline) { break }
                }
                answerCondition.unlock()
            }
            if head > durable.load(ordering: .acquiring) {
                do {
                    try environment.sync()
                    durable.max(head, ordering: .acquiringAndReleasing)
                    metrics.recordSync(byCommit: false)
                } catch {
                    let reason = "the ledger could not sync its log (\(error)); restart it"
                    syncFailure.withLock { $0 = $0 ?? reason }
                    for i in batches.indices where batches[i].head > durable.load(ordering: .acquiring) {
                        batches[i].results = batches[i].results.map { _ in .failure(.unavailable(reason)) }
                    }
                }
            }
            let durableHead = durable.load(ordering: .acquiring)
            if head > 0 && head <= durableHead { projector.advance(to: head) }
            for batch in batches {
                for i in batch.jobs.indices {
                    answering = batch.seqs[i]
                    batch.jobs[i].completion(batch.results[i], batch.seqs[i])
                }
            }
            if head > 0 && head <= durableHead {
                notifier.advance(to: head)
                for batch in batches where batch.head > 0 { observer?(batch.head, batch.jobs.count, batch.nanos) }
            }
            batches.removeAll(keepingCapacity: true)
        }
    }
}
