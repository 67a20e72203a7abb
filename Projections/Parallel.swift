import Glibc

/// Runs `other` on a thread of its own while the calling thread runs `here`, or both here
/// when `alone` (work too small to be worth a thread); returns once both are done. A
/// thread made for the purpose, not the dispatch pool: the pool's threads may all be
/// waiting on one another in a rebuild's pipeline, and `concurrentPerform` then runs
/// everything on the calling thread.
func inParallel(alone: Bool = false, _ here: () -> Void, _ other: @escaping @Sendable () -> Void) {
    if alone {
        here()
        other()
        return
    }
    final class Work {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }
    let context = Unmanaged.passRetained(Work(other)).toOpaque()
    var thread = pthread_t()
    let started = pthread_create(
        &thread, nil,
        { context in
            Unmanaged<Work>.fromOpaque(context!).takeRetainedValue().body()
            return nil
        }, context)
    guard started == 0 else {
        Unmanaged<Work>.fromOpaque(context).release()
        here()
        other()
        return
    }
    here()
    pthread_join(thread, nil)
}
