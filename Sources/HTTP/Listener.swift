internal import CSystem
internal import Glibc
import Synchronization

/// A listening socket bound by `HTTPServer.bindTCP` or `bindUnix`.
struct Listener: Sendable {
    /// The socket file of a Unix listener, to remove at shutdown if it is still ours.
    struct SocketFile: Sendable {
        var path: String
        var device: UInt64
        var inode: UInt64
    }

    var fd: Int32
    /// `nil` for TCP.
    var socketFile: SocketFile?

    var isUnix: Bool { socketFile != nil }

    /// Closes the socket and removes its socket file unless another process replaced it.
    func close() {
        _ = csys_close(fd)
        guard let file = socketFile else { return }
        var status = stat()
        if lstat(file.path, &status) == 0 && UInt64(status.st_dev) == file.device && UInt64(status.st_ino) == file.inode
        {
            unlink(file.path)
        }
    }
}

/// The listeners of a running server, shared by its event loops. Each loop stops
/// watching them when shutdown begins and then calls `release()`; the last release
/// closes them, so no loop can accept on a descriptor number that was reused.
final class ListenerSet: Sendable {
    let listeners: [Listener]
    private let holders: Atomic<Int>

    init(_ listeners: [Listener], holders: Int) {
        self.listeners = listeners
        self.holders = Atomic(holders)
    }

    func release() {
        if holders.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 {
            for listener in listeners { listener.close() }
        }
    }

    func listener(fd: Int32) -> Listener? {
        listeners.first { $0.fd == fd }
    }
}
