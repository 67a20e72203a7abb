import Dispatch
import Synchronization

/// Work started on another thread now, its result taken later: a rebuild reads and
/// decodes the next chunk of the log while it folds and writes the current one, and the
/// usage rebuild encodes its next rows while it writes the current ones.
public final class Prefetch<T: Sendable>: Sendable {
    private let done = DispatchSemaphore(value: 0)
    private let result = Mutex<Result<T, any Error>?>(nil)

    public init(_ work: @escaping @Sendable () throws -> T) {
        DispatchQueue.global().async { [self] in
            let outcome = Result { try work() }
            result.withLock { $0 = outcome }
            done.signal()
        }
    }

    /// True once the work has finished (``get()`` then returns at once).
    public var isDone: Bool { result.withLock { $0 != nil } }

    /// Waits for the work to finish; its value, or what it threw.
    public func get() throws -> T {
        done.wait()
        done.signal()
        return try result.withLock { $0! }.get()
    }
}
