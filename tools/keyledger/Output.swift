/// Buffered stdout: one write per 64 KiB, so a stream of millions of lines is cheap.
struct Output {
    private var buffer: [UInt8] = []

    mutating func line(_ bytes: [UInt8]) {
        buffer += bytes
        buffer.append(UInt8(ascii: "\n"))
        if buffer.count >= 1 << 16 { flush() }
    }

    mutating func flush() {
        writeAll(1, buffer)
        buffer.removeAll(keepingCapacity: true)
    }
}
