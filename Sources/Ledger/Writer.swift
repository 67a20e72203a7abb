import CSystem
import Dispatch
import Events
import Glibc
import Logging
import Projections
import Store
import Synchronization

/// The single writer: one thread drains the command queue in batches; each batch is
/// decided in memory, appended to the log's open write transaction and made durable with
/// one synced write of the journal (``JournaledWriter``); every few milliseconds one LMDB
/// commit makes the batches since the last one visible to readers and the projector.
/// Under load its callers are answered by a second thread, the answerer, while
/// the writer already decides and commits the next batch; when nothing else waits, the
/// writer answers them itself (no hand-off between threads on a lone request's path).
/// Under load, batches grow and the sync is shared. The projections are folded behind by
/// the ``Projector``.
final class Writer: @unchecked Sendable {
    // Safe to share: `queue`, `stopping` and `finished` are only touched with
    // `condition` locked; `executor` is used on the writer's thread only;
    // `answering` and `writerAnswering` are each written and read on one thread only
    // (the answerer's, the writer's).
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
    /// The log's open generation and its journal.
    private let journal: JournaledWriter
    /// Nanoseconds a generation stays open after its first durable batch.
    private let generationNanos: UInt64
    /// Answers of idempotent commands durable in the journal, until their generation
    /// commits (readers of the log see them then); guarded by its mutex.
    private let pendingAnswers = Mutex<[Digest: IdempotentAnswer]>([:])
    /// True after a generation's commit failed, until one succeeds (one log line a streak).
    private var commitFailing = false
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

    /// Committed (or failed) batches waiting for the answerer thread; guarded by
    /// `answerCondition`.
    private struct Committed {
        var jobs: [Job]
        var results: [Result<Outcome, LedgerError>]
        var seqs: [UInt64]
        /// The log's head after the batch; 0 when the batch failed.
        var head: UInt64
        /// Nanoseconds the writer took to decide and commit it.
        var nanos: UInt64 = 0
    }
    private let answerCondition = Condition()
    private var toAnswer: [Committed] = []
    private var answererStopping = false
    private var answererFinished = false
    /// True while the answerer thread, or the writer in its stead, answers a batch.
    private var answererBusy = false
    /// The most jobs one transaction takes; bounds latency under a flood.
    let maxBatch = 4096

    /// Seconds between expiry checks while idle; nil: no sweeping.
    private let sweepInterval: Double?
    /// Lead times of expiry warnings, in seconds (Writer+ExpiryWarnings.swift).
    let warningLeads: [Int64]

    let metrics: LedgerMetrics
    let notifier: CommitNotifier
    /// The log's head after the last durable commit.
    private let committed = Atomic<UInt64>(0)
    var committedHead: UInt64 { committed.load(ordering: .acquiring) }
    /// The log's head as its readers see it: after the last LMDB commit.
    private let visible = Atomic<UInt64>(0)
    var visibleHead: UInt64 { visible.load(ordering: .acquiring) }
    private let visibleCondition = Condition()

    /// Keys in the decision state and the bytes its storage holds, as of the last batch.
    let decisionKeys = Atomic<Int>(0)
    let decisionBytes = Atomic<Int>(0)

    private func publishDecisionSize() {
        decisionKeys.store(executor.decisions.count, ordering: .relaxed)
        decisionBytes.store(executor.decisions.approximateBytes, ordering: .relaxed)
    }

    /// The answerer's and the writer's thread ids, and the seq of the job each is answering.
    private let thread = Atomic<UInt>(0)
    private(set) var answering: UInt64 = 0
    private let writerThread = Atomic<UInt>(0)
    private var writerAnswering: UInt64?

    init(
        environment: Environment, journal: JournaledWriter, journalMillis: Double, executor: CommandExecutor, projector: Projector, observer: CommitObserver?,
        sweepInterval: Double?, metrics: LedgerMetrics, notifier: CommitNotifier, head: UInt64, nice: Int32 = 0,
        warningLeads: [Int64] = []
    ) {
        self.warningLeads = warningLeads
        self.metrics = metrics
        self.notifier = notifier
        self.environment = environment
        self.journal = journal
        generationNanos = UInt64(max(0, journalMillis) * 1_000_000)
        zeroFill = ZeroFill(environment)
        self.executor = executor
        self.projector = projector
        self.observer = observer
        self.sweepInterval = sweepInterval
        committed.store(head, ordering: .releasing)
        visible.store(head, ordering: .releasing)
        // Serial queues of their own: each block holds one thread for the writer's life.
        // A raised priority (a negative nice) is put back to 0 at the end: the threads
        // return to Dispatch's pool.
        DispatchQueue(label: "keyledger-writer", qos: .userInteractive).async { [unowned self] in
            if nice != 0 { _ = csys_set_thread_nice(nice) }
            self.run()
            if nice != 0 { _ = csys_set_thread_nice(0) }
        }
        DispatchQueue(label: "keyledger-answerer", qos: .userInteractive).async { [unowned self] in
            if nice != 0 { _ = csys_set_thread_nice(nice) }
            self.answer()
            if nice != 0 { _ = csys_set_thread_nice(0) }
        }
    }

    /// The seq of the job whose completion runs now, when called from that completion
    /// (on the answerer's thread, or the writer's when it answers itself); nil elsewhere.
    var seqOfAnswer: UInt64? {
        let me = UInt(pthread_self())
        if me == thread.load(ordering: .acquiring) { return answering }
        if me == writerThread.load(ordering: .acquiring) { return writerAnswering }
        return nil
    }

    /// Waits (blocking the caller) until the log's readers see `seq`, for up to `seconds`;
    /// false when they do not by then.
    func awaitVisible(_ seq: UInt64, seconds: Double) -> Bool {
        let deadline = MonotonicTime.now().adding(seconds: seconds)
        visibleCondition.lock()
        defer { visibleCondition.unlock() }
        while visibleHead < seq {
            if !visibleCondition.wait(until: deadline) && visibleHead < seq { return false }
        }
        return true
    }

    /// The kept answer of the idempotent command `key`, while it is durable in the journal
    /// and not yet readable from the log.
    func pendingAnswer(_ key: Digest) -> IdempotentAnswer? { pendingAnswers.withLock { $0[key] } }

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
        writerThread.store(UInt(pthread_self()), ordering: .releasing)
        publishDecisionSize()
        var nextSweep = MonotonicTime.now()
        var batch: [Job] = []
        while true {
            condition.lock()
            if !chores.isEmpty {
                // A chore may read the log or write it: the open generation commits first.
                condition.unlock()
                commitGeneration()
                condition.lock()
            }
            while !chores.isEmpty {
                let chore = chores.removeFirst()
                condition.unlock()
                chore()
                condition.lock()
            }
            while queue.isEmpty && chores.isEmpty && !stopping {
                if journal.hasUncommitted {
                    // The open generation commits at its deadline, or earlier for a stop or a chore.
                    let deadline = MonotonicTime(nanoseconds: journal.openedAt &+ generationNanos)
                    if MonotonicTime.now() >= deadline || !condition.wait(until: deadline) {
                        condition.unlock()
                        commitGeneration()
                        condition.lock()
                    }
                    continue
                }
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
                // The last batches' generation commits; if that fails, they stay in the
                // journal and the next open applies them. (No job is queued after a stop.)
                if journal.hasUncommitted {
                    condition.unlock()
                    commitGeneration()
                    condition.lock()
                }
                if journal.hasUncommitted {
                    Log.warning("stopping with batches the log's file lacks: the next open applies them from the journal")
                }
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
            condition.unlock()
            process(batch)
            batch.removeAll(keepingCapacity: true)
            if journal.hasUncommitted, csys_monotonic_nanos() &- journal.openedAt >= generationNanos {
                commitGeneration()
            }
        }
    }

    /// Commits the open generation: its batches become visible to readers, the projector
    /// and the long polls.
    private func commitGeneration() {
        guard journal.hasUncommitted else { return }
        let started = csys_monotonic_nanos()
        do {
            try journal.commitGeneration()
        } catch {
            metrics.recordLogCommit(nanos: 0, failed: true)
            if !commitFailing { Log.error("cannot commit the journal's batches to the log", ["reason": "\(error)"]) }
            commitFailing = true
            return
        }
        metrics.recordLogCommit(nanos: csys_monotonic_nanos() &- started, failed: false)
        commitFailing = false
        becameVisible(committedHead)
    }

    /// The log's readers see everything up to `head` now.
    private func becameVisible(_ head: UInt64) {
        visibleCondition.lock()
        visible.store(head, ordering: .releasing)
        visibleCondition.broadcast()
        visibleCondition.unlock()
        pendingAnswers.withLock { $0.removeAll() }
        projector.advance(to: head)
        notifier.advance(to: head)
        zeroFill.zeroFillAhead()
    }

    private func process(_ batch: [Job]) {
        let started = executor.clock.monotonicNanos()
        var head: UInt64 = 0
        var results: [Result<Outcome, LedgerError>]
        var seqs: [UInt64]
        var visible = false
        do {
            ((results, seqs), visible) = try journal.batch { txn in
                let run = try executor.run(batch, in: txn)
                head = try executor.log.head(in: txn).seq
                return run
            }
            if !visible, !executor.keptAnswers.isEmpty {
                pendingAnswers.withLock { pending in
                    for (key, answer) in executor.keptAnswers { pending[key] = answer }
                }
            }
            executor.committed()
        } catch {
            // Nothing of the batch was committed: every caller learns that, and the
            // decision state forgets the batch.
            executor.rollbackBatch()
            let reason = LedgerError.unavailable("the ledger cannot append: \(error)")
            results = Array(repeating: .failure(reason), count: batch.count)
            seqs = Array(repeating: committed.load(ordering: .acquiring), count: batch.count)
            head = 0
        }
        let nanos = executor.clock.monotonicNanos() &- started
        metrics.recordBatch(size: batch.count, nanos: nanos, failed: head == 0)
        if head > 0 {
            publishDecisionSize()
            committed.store(head, ordering: .releasing)
        }
        if visible { becameVisible(head) }
        let done = Committed(jobs: batch, results: results, seqs: seqs, head: head, nanos: nanos)
        if answerable() {
            for i in batch.indices {
                writerAnswering = seqs[i]
                batch[i].completion(results[i], seqs[i])
            }
            writerAnswering = nil
            finish([done])
            answerCondition.lock()
            answererBusy = false
            answerCondition.unlock()
        } else {
            hand(done)
        }
    }

    /// True when the writer may answer a batch itself: no job or chore waits for it, and
    /// the answerer has nothing in hand (so answers keep their order); it then counts as
    /// the answerer until it clears `answererBusy`.
    private func answerable() -> Bool {
        condition.lock()
        let idle = queue.isEmpty && chores.isEmpty
        condition.unlock()
        guard idle else { return false }
        answerCondition.lock()
        defer { answerCondition.unlock() }
        guard toAnswer.isEmpty && !answererBusy else { return false }
        answererBusy = true
        return true
    }

    /// After a batch's answers: the observer moves on.
    private func finish(_ batches: [Committed]) {
        for batch in batches where batch.head > 0 { observer?(batch.head, batch.jobs.count, batch.nanos) }
    }

    /// Passes a committed (or failed) batch to the answerer.
    private func hand(_ batch: Committed) {
        answerCondition.lock()
        toAnswer.append(batch)
        if toAnswer.count == 1 { answerCondition.signal() }
        answerCondition.unlock()
    }

    /// The answerer's thread: takes every batch the writer has committed, answers each
    /// caller in order, then moves the long polls on. It keeps the answers' work (their
    /// hand-off to the event loops, whatever a completion does) off the writer's thread.
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
            answererBusy = true
            answerCondition.unlock()
            for batch in batches {
                for i in batch.jobs.indices {
                    answering = batch.seqs[i]
                    batch.jobs[i].completion(batch.results[i], batch.seqs[i])
                }
            }
            finish(batches)
            batches.removeAll(keepingCapacity: true)
            answerCondition.lock()
            answererBusy = false
            answerCondition.unlock()
        }
    }
}
