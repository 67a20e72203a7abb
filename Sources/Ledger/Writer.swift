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
/// one synced write of the journal (``JournaledWriter``), and then its callers are
/// answered, on the same thread; every few milliseconds one LMDB commit makes the batches
/// since the last one visible to readers and the projector. Under load, batches grow and
/// the sync is shared; a batch smaller than the last one waits a moment for its peers
/// (``gatherNanos``). The projections are folded behind by the ``Projector``.
final class Writer: @unchecked Sendable {
    // Safe to share: `queue`, `gatherTarget`, `stopping` and `finished` are only touched
    // with `condition` locked; `executor`, `lastBatchSize` and `answering` are used on the
    // writer's thread only.
    struct Job: Sendable {
        var command: Command
        var context: CommandContext
        /// The result and the log's seq after the command (its last event's, or the
        /// head before it when it appended none). The result is the caller's to keep:
        /// handed over, not copied.
        var completion: @Sendable (consuming Result<Outcome, LedgerError>, UInt64) -> Void
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
    /// The most jobs one transaction takes; bounds latency under a flood.
    let maxBatch = 4096
    /// Nanoseconds a batch smaller than the last one waits for more jobs before it is
    /// decided (0: none). Its callers' peers are on their way: their answers left with the
    /// last batch. One synced write then covers them all, which spends less of the
    /// kernel's CPU per command (a synced write costs tens of microseconds of it) and so
    /// answers more of them, sooner, on a machine bound by its cores. A lone caller never
    /// waits: its last batch held one job.
    private let gatherNanos: UInt64
    /// The size of the last batch; what a new one waits to reach, for at most `gatherNanos`.
    private var lastBatchSize = 1
    /// While the writer gathers, the queue's length that wakes it; 0 otherwise.
    private var gatherTarget = 0
    /// A reader waits for acknowledged events the log's readers do not see yet: the open
    /// generation commits after the batch under way, not at its deadline (``hurry()``).
    private let hurried = Atomic<Bool>(false)

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

    /// The writer's thread id, and the seq of the job whose caller it answers now.
    private let writerThread = Atomic<UInt>(0)
    private var answering: UInt64?
    /// Batches are run by ``pump()`` on a thread of the caller's (an event loop), not by a thread of the writer's.
    let inline: Bool
    /// When the oldest queued job was queued (monotonic nanoseconds); 0 with none queued.
    private var queuedAt: UInt64 = 0

    init(
        environment: Environment, journal: JournaledWriter, journalMillis: Double, gatherMicros: Int = 0,
        executor: CommandExecutor, projector: Projector, observer: CommitObserver?, sweepInterval: Double?,
        metrics: LedgerMetrics, notifier: CommitNotifier, head: UInt64, nice: Int32 = 0, warningLeads: [Int64] = [],
        inline: Bool = false
    ) {
        self.inline = inline
        self.warningLeads = warningLeads
        self.metrics = metrics
        self.notifier = notifier
        self.environment = environment
        self.journal = journal
        generationNanos = UInt64(max(0, journalMillis) * 1_000_000)
        gatherNanos = UInt64(max(0, gatherMicros)) * 1000
        zeroFill = ZeroFill(environment)
        self.executor = executor
        self.projector = projector
        self.observer = observer
        self.sweepInterval = sweepInterval
        committed.store(head, ordering: .releasing)
        visible.store(head, ordering: .releasing)
        // A serial queue of its own: the block holds one thread for the writer's life.
        // A raised priority (a negative nice) is put back to 0 at the end: the thread
        // returns to Dispatch's pool.
        if inline { return }
        DispatchQueue(label: "keyledger-writer", qos: .userInteractive).async { [unowned self] in
            if nice != 0 { _ = csys_set_thread_nice(nice) }
            self.run()
            if nice != 0 { _ = csys_set_thread_nice(0) }
        }
    }

    /// The seq of the job whose completion runs now, when called from that completion
    /// (on the writer's thread); nil elsewhere.
    var seqOfAnswer: UInt64? {
        pthread_self() == writerThread.load(ordering: .acquiring) ? answering : nil
    }

    /// Waits (blocking the caller) until the log's readers see `seq`, for up to `seconds`;
    /// false when they do not by then.
    func awaitVisible(_ seq: UInt64, seconds: Double) -> Bool {
        let deadline = MonotonicTime.now().adding(seconds: seconds)
        if visibleHead < seq { hurry() }
        visibleCondition.lock()
        defer { visibleCondition.unlock() }
        while visibleHead < seq {
            if !visibleCondition.wait(until: deadline) && visibleHead < seq { return false }
        }
        return true
    }

    /// Someone waits to read acknowledged events: the open generation commits once the
    /// batch under way is done (or at once when the writer is idle), not at its deadline.
    /// Readers that pass a command's seq (`minSeq`) thus wait a batch, not `--journal-ms`.
    func hurry() {
        guard visibleHead < committedHead else { return }
        hurried.store(true, ordering: .releasing)
        condition.lock()
        condition.signal()
        condition.unlock()
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
        if inline {
            if queue.count == 1 { queuedAt = csys_monotonic_nanos() }
        } else if queue.count == 1 || queue.count == gatherTarget { condition.signal() }
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

    /// Finishes every queued job and answers it, then ends the writer's thread. Returns
    /// when it has ended.
    func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        while !finished && !inline { condition.wait() }
        condition.unlock()
    }

    /// Inline mode: runs what is due on the calling thread (always the same one) and
    /// returns the nanoseconds until something is due again (UInt64.max: nothing).
    func pump() -> UInt64 {
        if writerThread.load(ordering: .relaxed) == 0 {
            writerThread.store(UInt(pthread_self()), ordering: .releasing)
            publishDecisionSize()
        }
        var dueIn = UInt64.max
        while true {
            condition.lock()
            if stopping {
                finished = true
                condition.broadcast()
                condition.unlock()
                return .max
            }
            let now = csys_monotonic_nanos()
            if queue.isEmpty {
                condition.unlock()
                if journal.hasUncommitted {
                    let deadline = journal.openedAt &+ generationNanos
                    if hurried.exchange(false, ordering: .acquiringAndReleasing) || now >= deadline {
                        commitGeneration()
                    } else {
                        dueIn = min(dueIn, deadline &- now)
                    }
                }
                return dueIn
            }
            if gatherNanos > 0, queue.count < lastBatchSize, now &- queuedAt < gatherNanos {
                let wait = gatherNanos &- (now &- queuedAt)
                condition.unlock()
                return min(dueIn, wait)
            }
            var batch: [Job]
            if queue.count <= maxBatch {
                swap(&queue, &spare)
                batch = spare
                spare.removeAll(keepingCapacity: true)
            } else {
                batch = Array(queue.prefix(maxBatch))
                queue.removeFirst(maxBatch)
            }
            queuedAt = queue.isEmpty ? 0 : now
            condition.unlock()
            lastBatchSize = batch.count
            process(batch)
            batch.removeAll(keepingCapacity: true)
            if journal.hasUncommitted,
                csys_monotonic_nanos() &- journal.openedAt >= generationNanos
                    || hurried.exchange(false, ordering: .acquiringAndReleasing)
            {
                commitGeneration()
            }
        }
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
                    // The open generation commits at its deadline, or earlier for a stop, a
                    // chore or a waiting reader.
                    let deadline = MonotonicTime(nanoseconds: journal.openedAt &+ generationNanos)
                    if hurried.exchange(false, ordering: .acquiringAndReleasing) || MonotonicTime.now() >= deadline
                        || !condition.wait(until: deadline)
                    {
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
            if !stopping { gather() }
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
            lastBatchSize = batch.count
            process(batch)
            batch.removeAll(keepingCapacity: true)
            if journal.hasUncommitted,
                csys_monotonic_nanos() &- journal.openedAt >= generationNanos
                    || hurried.exchange(false, ordering: .acquiringAndReleasing)
            {
                commitGeneration()
            }
        }
    }

    /// With `condition` locked and jobs queued: waits, for at most `gatherNanos`, until the
    /// queue holds as many jobs as the last batch did (or a chore or a stop comes).
    private func gather() {
        guard gatherNanos > 0, queue.count < lastBatchSize else { return }
        gatherTarget = min(lastBatchSize, maxBatch)
        let deadline = MonotonicTime(nanoseconds: csys_monotonic_nanos() &+ gatherNanos)
        while queue.count < gatherTarget && chores.isEmpty && !stopping {
            if !condition.wait(until: deadline) { break }
        }
        gatherTarget = 0
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
        var results: [Result<Outcome, LedgerError>?]
        var seqs: [UInt64]
        var visible = false
        do {
            ((results, seqs), visible) = try journal.batch { txn in
                let run = try executor.run(batch, in: txn)
                head = try executor.log.head(in: txn).seq
                return run
            }
            if journal.lastWriteNanos > 0 { metrics.recordJournalWrite(nanos: journal.lastWriteNanos) }
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
        for i in batch.indices {
            answering = seqs[i]
            // Moved to its caller, not copied: a copy of a verdict retains every field of its key.
            let result = results[i].take() ?? .failure(.unavailable("the writer lost the command's result"))
            batch[i].completion(result, seqs[i])
        }
        answering = nil
        if head > 0 { observer?(head, batch.count, nanos) }
    }
}
