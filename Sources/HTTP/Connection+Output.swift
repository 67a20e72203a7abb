internal import CSystem
internal import Glibc

extension Connection {
    /// Encodes the responses that are next in order, owes a `100 Continue` if due, and
    /// writes what the socket takes.
    ///
    /// - Returns: whether more pipelined requests may now be let in: a request left the
    ///   in-flight queue, or the output backlog cleared.
    func sendReady() -> Bool {
        let wasBacklogged = outputBacklogged
        var released = false
        if slotHead < slots.count && slots[slotHead].response != nil {
            let date = loop.date.current()
            if !hasPendingOutput { lastWriteProgress = loop.now }
            // Taken out of its slot rather than copied: a copy would retain and release
            // every part of the response.
            while slotHead < slots.count, var response = slots[slotHead].response.take() {
                defer { response.releaseFields() }
                let slot = slots[slotHead]
                slotHead += 1
                headSequence += 1
                released = true
                bufferedResponses += 1
                let closing = ResponseEncoder.encode(
                    response, isHead: slot.isHead, version: slot.version, close: slot.close, date: date,
                    into: &output)
                if closing {
                    // Requests pipelined behind this one will not be answered.
                    closeAfterOutput = true
                    phase = .stopped
                    slotHead = slots.count
                    break
                }
            }
            compactSlots()
        }
        if continuePending && activeSlots == 0 {
            continuePending = false
            if !hasPendingOutput { lastWriteProgress = loop.now }
            ResponseEncoder.appendContinue(to: &output)
        }
        writeOutput()
        let limits = loop.limits
        if hasPendingOutput
            && (bufferedResponses >= limits.maxUnsentResponses || output.count - outputSent >= limits.maxUnsentBytes)
        {
            outputBacklogged = true
        }
        return released || (wasBacklogged && !outputBacklogged)
    }

    /// Drops answered slots from the front of the queue once they pile up.
    private func compactSlots() {
        if slotHead == slots.count {
            slots.removeAll(keepingCapacity: true)
            slotHead = 0
        } else if slotHead >= 64 {
            slots.removeFirst(slotHead)
            slotHead = 0
        }
    }

    /// Sends pending output until it is all gone or the socket is full.
    private func writeOutput() {
        while hasPendingOutput && writable {
            let start = outputSent
            let count = output.withUnsafeBytes { buffer -> Int in
                guard let base = buffer.baseAddress else { return 0 }
                return csys_send(fd, base + start, buffer.count - start)
            }
            if count > 0 {
                outputSent += count
                lastWriteProgress = loop.now
            } else if errno == EAGAIN || errno == EWOULDBLOCK {
                writable = false
            } else if errno != EINTR {
                close()
                return
            }
        }
        if !output.isEmpty && !hasPendingOutput {
            // Keep the buffer for the next response unless one huge body inflated it.
            if output.capacity > 1 << 20 { output = [] } else { output.removeAll(keepingCapacity: true) }
            outputSent = 0
            bufferedResponses = 0
            outputBacklogged = false
            if activeSlots == 0 { idleSince = loop.now }
        }
    }

    /// Ends a connection whose output is all sent. When the client may still be sending
    /// (a refused request, unread pipelined bytes, a close it did not ask for), closing
    /// at once could make the kernel reset the connection and destroy the response
    /// before the client reads it; so shut down the sending side and drain the input
    /// until the client closes or the linger time passes (a "lingering close").
    func finish() {
        let quiet = inputClosed || (clientAskedToClose && !refusedInput && inputStart == inputEnd && !readable)
        if quiet || csys_shutdown_write(fd) != 0 {
            close()
            return
        }
        lingeringSince = loop.now
        phase = .stopped
        drainLingering()
    }
}
