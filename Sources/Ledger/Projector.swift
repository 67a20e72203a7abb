import CSystem
import Dispatch
import Events
import Logging
import Projections
import Store
import Synchronization

/// Folds the committed log into the projections, behind the writer, on a thread of its
/// own: each round reads up to ``maxEvents`` events after the projections' checkpoint
/// from the log's environment and folds them in one transaction of the projections'
/// environment, checkpoints included. The log's commits never wait for it.
final class Projector: @unchecked Sendable {
    // Safe to share: `logHead`, `commitTimes`, `stopping` and `finished` are only
    // touched with `condition` locked; `projectedSeq` is atomic; the lets are Sendable.
    let log: EventLog
    let logEnvironment: Environment
    let environment: Environment
    let keys: KeyStateProjection
    let others: [any Projection]
    /// The position in ``others`` of the Merkle tree, whose leaves the round hashes as it
    /// reads the records (the tree then reads no record itself); nil when there is none.
    let treePosition: Int?
    let checkpoints: Checkpoints
    /// Events folded per projection transaction at most.
    let maxEvents: Int
    /// Fires queries waiting for a seq (`minSeq`) once the projections include it.
    let notifier: CommitNotifier

    private let projectedBox = SeqBox()
    private let condition = Condition()
    private var logHead: UInt64 = 0
    /// (seq, monotonic nanoseconds) of log commits the projections do not include yet,
    /// oldest first: the oldest gives the lag in seconds.
    private var commitTimes: [(seq: UInt64, nanos: UInt64)] = []
    private var stopping = false
    private var finished = true
    private var paused = false
    private var folding = false
    /// Set when a query waits for a seq: the next round starts at once.
    private var hurried = false
    /// The key states folded, kept between rounds (on the folding thread only).
    private var keyStates = KeyStateCache()
    /// The owners and actor ids decoded, kept between rounds (on the folding thread only).
    private var strings = StringTable()
    /// Set by ``pause()`` (a rebuild writes the key-state table itself): the next round
    /// discards ``keyStates`` first.
    private var keyStatesStale = false
    /// How long committed events may wait to be folded with the ones after them.
    static let gatherNanos: UInt64 = 100_000_000
    /// Events after which a round starts without waiting for ``gatherNanos``.
    var gatherEvents: UInt64 { UInt64(maxEvents / 4) }
    /// True while the folding thread waits for more events to gather.
    private var gathering = false
    /// The folding thread entered the idle class at its start, so it may move between
    /// classes (on the folding thread only).
    private var reversible = false

    var all: [any Projection] { [keys] + others }

    init(
        log: EventLog, logEnvironment: Environment, environment: Environment, keys: KeyStateProjection,
        others: [any Projection], checkpoints: Checkpoints, maxEvents: Int = 20_000, maxWaiters: Int,
        idleClassLag: Double?
    ) {
        idleClassLagNanos = idleClassLag.map { UInt64(max(0, $0) * 1e9) }
        self.log = log
        self.logEnvironment = logEnvironment
        self.environment = environment
        self.keys = keys
        self.others = others
        treePosition = others.firstIndex { $0 is MerkleTreeProjection }
        self.checkpoints = checkpoints
        self.maxEvents = maxEvents
        let projected = projectedBox
        notifier = CommitNotifier(maxWaiters: maxWaiters) { projected.value.load(ordering: .acquiring) }
    }

    /// The last seq every projection includes.
    var projected: UInt64 { projectedBox.value.load(ordering: .acquiring) }

    /// Events and seconds the projections are behind the log.
    func lag() -> (events: UInt64, seconds: Double) {
        let nowNanos = MonotonicTime.now().nanoseconds
        condition.lock()
        defer { condition.unlock() }
        let projected = self.projected
        let events = logHead > projected ? logHead - projected : 0
        guard events > 0, let oldest = commitTimes.first(where: { $0.seq > projected }) else { return (events, 0) }
        return (events, Double(nowNanos &- oldest.nanos) / 1e9)
    }

    /// Reads the checkpoints (the smallest is what every projection includes); the log
    /// holds at least that much.
    func loadCheckpoint() throws {
        let seq = try environment.read { txn in try all.map { try checkpoints.read($0.name, in: txn) }.min() ?? 0 }
        projectedBox.value.store(seq, ordering: .releasing)
        condition.lock()
        logHead = max(logHead, seq)
        condition.unlock()
    }

    /// Folds until the projections include `head` (on the caller's thread, before the
    /// writer starts).
    func catchUp(to head: UInt64) throws {
        condition.lock()
        logHead = max(logHead, head)
        condition.unlock()
        while projected < head { try foldRound(upTo: head) }
    }

    /// The writer committed up to `head` (now, on the monotonic clock).
    func advance(to head: UInt64) {
        condition.lock()
        if head > logHead {
            logHead = head
            if commitTimes.count < 100_000 { commitTimes.append((head, MonotonicTime.now().nanoseconds)) }
        }
        // A gathering round wakes at its deadline, or once enough events are there: no
        // wake-up per commit.
        if !gathering || logHead >= projected &+ gatherEvents { condition.signal() }
        condition.unlock()
    }

    /// A query waits for the projections: fold without gathering first.
    func hurry() {
        condition.lock()
        hurried = true
        condition.signal()
        condition.unlock()
    }

    /// The nice value of the fold's thread (`man 2 setpriority`): 10 steps below the request path.
    let backgroundNice: Int32 = 10
    /// Lag past which the fold leaves Linux's idle scheduling class (`SCHED_IDLE`, in which
    /// it runs only in the time the request path leaves) and competes at ``backgroundNice``
    /// until the lag is under a quarter of it; nil: the fold never uses the idle class.
    let idleClassLagNanos: UInt64?
    /// Whether the folding thread is in the idle class now (written on the folding thread).
    private let inIdleClass = Atomic<Bool>(false)
    /// Whether the fold runs in the idle class now.
    var foldsInIdleClass: Bool { inIdleClass.load(ordering: .relaxed) }
    /// The kernel's id of the folding thread while it runs (for tests: /proc/self/task/ID).
    let foldThreadID = Atomic<Int32>(0)

    func start() {
        condition.lock()
        finished = false
        condition.unlock()
        DispatchQueue(label: "keyledger-projector").async { [self] in
            // Named for profilers: `perf stat -t` measures the fold's CPU on this thread.
            _ = csys_set_thread_name("kl-projector")
            foldThreadID.store(csys_thread_id(), ordering: .relaxed)
            // Behind the request path: when the cores are busy, the threads a verification
            // waits on (event loop, writer) run first; the fold catches up in the
            // gaps (its lag is a metric). In the idle class it takes no core a woken
            // request thread wants (at nice 10 it still takes a share, in slices that
            // delay the answers waiting behind it); it leaves the class when it falls
            // behind, so the lag stays bounded on a saturated machine. The class is used
            // only where the process may leave it again. The thread returns to Dispatch's
            // pool at the end, so its priority is put back where the process may (raising
            // needs privilege).
            _ = csys_set_thread_nice(backgroundNice)
            if idleClassLagNanos != nil, csys_idle_class_is_reversible(backgroundNice) == 1 {
                setIdleClass(true)
            }
            run()
            if inIdleClass.load(ordering: .relaxed) { setIdleClass(false) }
            _ = csys_set_thread_nice(0)
        }
    }

    /// Stops folding (after the round under way) until ``resume()``: for a rebuild, which
    /// writes the projections itself.
    func pause() {
        condition.lock()
        paused = true
        keyStatesStale = true
        while folding { condition.wait() }
        condition.unlock()
    }

    func resume() {
        condition.lock()
        paused = false
        condition.broadcast()
        condition.unlock()
    }

    /// Folds what is committed, then ends the thread; returns when it has ended.
    func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        while !finished { condition.wait() }
        condition.unlock()
        notifier.stop()
    }

    private func run() {
        while true {
            condition.lock()
            while true {
                while (logHead <= projected || paused) && !stopping { condition.wait() }
                // Events gather for up to ``gatherNanos`` (fewer, larger transactions: less
                // of the disk for the projections beside the log's syncs, and each row a
                // round touches is written once for more events: with 1,000 keys verified,
                // 25 ms instead of 5 cut the fold's CPU per event by a third, 100 ms instead
                // of 25 by another third), unless a query waits for them or the round is
                // large anyway.
                while !stopping, !paused, !hurried, logHead < projected &+ gatherEvents,
                    let oldest = commitTimes.first(where: { $0.seq > projected }),
                    MonotonicTime.now().nanoseconds < oldest.nanos &+ Self.gatherNanos
                {
                    gathering = true
                    _ = condition.wait(until: MonotonicTime(nanoseconds: oldest.nanos &+ Self.gatherNanos))
                }
                gathering = false
                // Paused meanwhile: wait again (the pause holds from here on, checked with
                // the lock held until `folding` is set).
                if !paused || stopping { break }
            }
            let awaited = hurried
            hurried = false
            let target = logHead
            let waited = commitTimes.first(where: { $0.seq > projected }).map { MonotonicTime.now().nanoseconds &- $0.nanos }
            if target <= projected && stopping {
                finished = true
                condition.broadcast()
                condition.unlock()
                return
            }
            folding = true
            condition.unlock()
            adjustClass(lagNanos: waited ?? 0, awaited: awaited)
            defer {
                condition.lock()
                folding = false
                condition.broadcast()
                condition.unlock()
            }
            do {
                try foldRound(upTo: target)
            } catch {
                Log.error("the projections cannot fold the log; retrying in 1 s", ["reason": "\(error)"])
                condition.lock()
                let giveUp = stopping
                if !giveUp { _ = condition.wait(until: MonotonicTime.now().adding(seconds: 1)) }
                if giveUp {
                    finished = true
                    condition.broadcast()
                }
                condition.unlock()
                if giveUp { return }
            }
        }
    }

    /// On the folding thread, before a round: leaves the idle class when the oldest event
    /// to fold has waited past ``idleClassLagNanos`` or a query waits for the round
    /// (`awaited`: the fold is then on that request's path), and goes back for a round
    /// nobody waits for once the oldest event waits under a quarter of the limit (only
    /// where the idle class was entered at the start).
    private func adjustClass(lagNanos: UInt64, awaited: Bool) {
        guard let limit = idleClassLagNanos, reversible else { return }
        let idle = inIdleClass.load(ordering: .relaxed)
        if idle, awaited || lagNanos > limit {
            setIdleClass(false)
        } else if !idle, !awaited, lagNanos < limit / 4 {
            setIdleClass(true)
        }
    }

    /// Moves the folding thread into or out of the idle class; records where it is.
    private func setIdleClass(_ idle: Bool) {
        guard csys_set_thread_idle_class(idle ? 1 : 0) == 0 else { return }
        if idle { reversible = true }
        inIdleClass.store(idle, ordering: .relaxed)
    }

    /// One transaction: the events after the smallest checkpoint, up to `target` and at
    /// most ``maxEvents``, each folded into the projections that do not include it yet.
    func foldRound(upTo target: UInt64) throws {
        let projections = all
        let from = try environment.read { txn in try projections.map { try checkpoints.read($0.name, in: txn) } }
        let low = from.min() ?? 0
        guard low < target else {
            publish(low)
            return
        }
        var events: [Event] = []
        events.reserveCapacity(min(maxEvents, Int(target - low)))
        // The tree's leaves: the hashes of the records after its checkpoint.
        let tree = treePosition.flatMap { others[$0] as? MerkleTreeProjection }
        // The seq after which records are hashed (a plain integer in the loop, not the
        // tree's value copied per record); no record is when there is no tree.
        let hashedAfter = treePosition.map { from[$0 + 1] } ?? UInt64.max
        var leaves: [Digest] = []
        if hashedAfter < target { leaves.reserveCapacity(min(maxEvents, Int(target - hashedAfter))) }
        // In a local for the loop: no exclusivity check of the class's property per record.
        var strings = StringTable()
        swap(&strings, &self.strings)
        defer { swap(&strings, &self.strings) }
        try logEnvironment.read { txn in
            try log.scanRecords(from: low + 1, in: txn) { seq, record in
                events.append(try EventCodec.decode(record, seq: seq, context: .actorAndIP, strings: &strings))
                if seq > hashedAfter { leaves.append(MerkleHash.leaf(record)) }
                return events.count < maxEvents && seq < target
            }
        }
        guard let last = events.last?.seq else { throw LedgerError.unavailable("the log ended before seq \(target)") }
        condition.lock()
        if keyStatesStale {
            keyStates.discard()
            keyStatesStale = false
        }
        condition.unlock()
        var attempts = 0
        do {
            try environment.write { txn in
                // A body run again (the map grew) starts from the table's states.
                if attempts > 0 { keyStates.discard() }
                attempts += 1
                try foldKeys(events, after: from[0], in: txn)
                // Each projection folds its part of the round at once (the projections'
                // tables are their own: the order between projections does not matter).
                for (i, projection) in others.enumerated() {
                    let start = events.partitioningIndex { $0.seq > from[i + 1] }
                    guard start < events.endIndex else { continue }
                    if i == treePosition, let tree {
                        try tree.apply(leaves: leaves[...], of: events[start...], in: txn)
                    } else {
                        try projection.apply(contentsOf: events[start...], in: txn)
                    }
                }
                for (i, projection) in projections.enumerated() where from[i] < last {
                    try checkpoints.write(projection.name, last, in: txn)
                }
            }
        } catch {
            keyStates.discard()
            throw error
        }
        keyStates.committed()
        publish(last)
    }

    /// Folds the round's events after `after` into the key states (``keyStates``), and
    /// writes each key it changed once.
    private func foldKeys(_ events: [Event], after: UInt64, in txn: borrowing Transaction) throws {
        // Through the buffer, into a cache held in a local: fewer copies of events (each
        // retaining its strings) than a `for in` folding into the class's own property.
        var keyStates = KeyStateCache()
        swap(&keyStates, &self.keyStates)
        defer { swap(&keyStates, &self.keyStates) }
        try events.withUnsafeBufferPointer { (events) throws in
            for i in events.indices where events[i].seq > after {
                if case .created = events[i].payload {
                    try keyStates.flush(keys, txn)
                    keyStates.forget(events[i].keyID)
                    try keys.apply(events[i], in: txn)
                } else if let count = try keyStates.fold(events[i], keys, txn),
                    count % KeyStateProjection.snapshotInterval == 0, count > 0,
                    let state = keyStates.state(of: events[i].keyID)
                {
                    try keys.snapshotIfDue(state, at: events[i].seq, in: txn)
                }
            }
        }
        try keyStates.flush(keys, txn)
    }

    private func publish(_ seq: UInt64) {
        guard seq > projected else { return }
        projectedBox.value.store(seq, ordering: .releasing)
        condition.lock()
        if let i = commitTimes.firstIndex(where: { $0.seq > seq }) {
            commitTimes.removeFirst(i)
        } else {
            commitTimes.removeAll()
        }
        condition.unlock()
        notifier.advance(to: seq)
    }
}

/// An atomic seq with a reference of its own, for closures to hold.
final class SeqBox: Sendable {
    let value = Atomic<UInt64>(0)
}

extension Array {
    /// The first index whose element satisfies `belongs`, for a predicate false on a
    /// prefix and true on the rest (a binary search); `endIndex` when none.
    func partitioningIndex(where belongs: (Element) -> Bool) -> Int {
        var (low, high) = (startIndex, endIndex)
        while low < high {
            let mid = (low + high) / 2
            if belongs(self[mid]) { high = mid } else { low = mid + 1 }
        }
        return low
    }
}
