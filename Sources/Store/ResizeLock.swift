internal import Glibc

/// A readers-writer lock that keeps `mdb_env_set_mapsize` away from live transactions.
///
/// LMDB lets the map be resized only while no transaction of this process is active
/// (lmdb.h, `mdb_env_set_mapsize`); every transaction holds the lock shared for its
/// whole life, and a resize holds it exclusively.
final class ResizeLock: @unchecked Sendable {
    // Safe to share: the pthread rwlock is the synchronisation itself, allocated once
    // and never moved (it lives behind a stable pointer until deinit).
    private let lock: UnsafeMutablePointer<pthread_rwlock_t>

    init() {
        lock = .allocate(capacity: 1)
        lock.initialize(to: pthread_rwlock_t())
        pthread_rwlock_init(lock, nil)
    }

    deinit {
        pthread_rwlock_destroy(lock)
        lock.deallocate()
    }

    /// Takes the lock shared until ``unlockShared()`` (a transaction that outlives one call).
    func lockShared() { pthread_rwlock_rdlock(lock) }
    func unlockShared() { pthread_rwlock_unlock(lock) }

    func withShared<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        pthread_rwlock_rdlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body()
    }

    func withExclusive<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        pthread_rwlock_wrlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body()
    }
}
