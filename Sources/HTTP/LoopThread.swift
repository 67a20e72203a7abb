internal import Glibc

/// Starts a detached POSIX thread running `body`.
///
/// Plain pthreads rather than Foundation's `Thread`, to keep Foundation out of this module.
enum LoopThread {
    private final class Box {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }

    static func start(_ body: @escaping @Sendable () -> Void) throws(HTTPServerError) {
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        var thread = pthread_t()
        let result = pthread_create(
            &thread, nil,
            { argument in
                guard let argument else { return nil }
                let box = Unmanaged<Box>.fromOpaque(argument).takeRetainedValue()
                box.body()
                return nil
            }, box)
        guard result == 0 else {
            Unmanaged<Box>.fromOpaque(box).release()
            throw .system("pthread_create", errno: result)
        }
        pthread_detach(thread)
    }
}
