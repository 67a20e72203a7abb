import Glibc

// What the CLI took from Foundation, on Glibc and the standard library: the binary
// then loads no Foundation libraries, whose dynamic linking cost every run ~15 ms.

/// Writes `text` to standard error, whole.
func writeError(_ text: String) { writeAll(2, Array(text.utf8)) }

/// Writes `bytes` to file descriptor `fd`, retrying short writes.
func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
    bytes.withUnsafeBytes { buffer in
        var offset = 0
        while offset < buffer.count {
            let n = write(fd, buffer.baseAddress! + offset, buffer.count - offset)
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { return }
            offset += n
        }
    }
}

/// The environment variable `name`, if set.
func environmentValue(_ name: String) -> String? { getenv(name).map { String(cString: $0) } }

/// True when `path` exists.
func fileExists(_ path: String) -> Bool { access(path, F_OK) == 0 }

/// `value` with `decimals` digits after the point (`printf`'s `%.Nf`).
func fixed(_ value: Double, _ decimals: Int) -> String {
    var buffer = [CChar](repeating: 0, count: 64)
    _ = withVaList([value]) { vsnprintf(&buffer, buffer.count, "%.\(decimals)f", $0) }
    return buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
}

/// Seconds since `start`, on the monotonic clock.
func seconds(since start: ContinuousClock.Instant) -> Double {
    let elapsed = (ContinuousClock.now - start).components
    return Double(elapsed.seconds) + Double(elapsed.attoseconds) * 1e-18
}

extension String {
    /// Every `target` replaced by `replacement`.
    func replacing(_ target: Character, with replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }

    /// Padded with spaces on the right to `width` characters (never cut).
    func padded(to width: Int) -> String { self + String(repeating: " ", count: max(0, width - count)) }
}
