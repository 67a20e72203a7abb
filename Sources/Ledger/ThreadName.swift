import Glibc

/// Runs `body` with the calling thread named `name` (at most 15 bytes), for profilers
/// (`perf stat -t`, `top -H`) to tell the ledger's threads apart, then gives the thread
/// back its name: a Dispatch thread returns to a pool that runs other work on it.
///
/// Through `/proc/thread-self/comm` (`pthread_setname_np` is not in Glibc's Swift module).
public func withThreadName<T>(_ name: String, _ body: () throws -> T) rethrows -> T {
    let previous = threadComm(write: nil)
    _ = threadComm(write: name)
    defer {
        if let previous { _ = threadComm(write: previous) }
    }
    return try body()
}

/// Writes the calling thread's name when `write` is given; else reads it (nil when it
/// cannot be read).
private func threadComm(write name: String?) -> String? {
    let fd = open("/proc/thread-self/comm", name == nil ? O_RDONLY | O_CLOEXEC : O_WRONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    if let name {
        let bytes = Array(name.utf8.prefix(15))
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        return name
    }
    var buffer = [UInt8](repeating: 0, count: 32)
    let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
    guard n > 0 else { return nil }
    var text = buffer.prefix(n)
    if text.last == 0x0A { text.removeLast() }
    return String(decoding: text, as: UTF8.self)
}
