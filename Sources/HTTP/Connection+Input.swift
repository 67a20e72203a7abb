internal import CSystem
internal import Glibc

extension Connection {
    /// Reads what the socket has and parses it, dispatching every complete request, until
    /// the socket is drained or no more requests may be taken now.
    func receive() {
        while true {
            parseBuffered()
            guard !isClosed, readable, !inputClosed, canTakeInput else { return }
            guard makeRoom() else { return }
            let room = input.count - inputEnd
            let count = input.withUnsafeMutableBytes { buffer -> Int in
                guard let base = buffer.baseAddress else { return 0 }
                return csys_recv(fd, base + inputEnd, room)
            }
            if count > 0 {
                inputEnd += count
                // A short read emptied the socket and epoll reports the next arrival, unless
                // the FIN already came: then no new event will, so read on to the end.
                if count < room && !finReported { readable = false }
            } else if count == 0 {
                inputClosed = true
                readable = false
            } else if errno == EAGAIN || errno == EWOULDBLOCK {
                readable = false
            } else if errno != EINTR {
                close()
                return
            }
        }
    }

    /// Whether reading now could lead anywhere: a request is being received, or another
    /// may start (`mayStartRequest`).
    private var canTakeInput: Bool {
        switch phase {
        case .stopped: false
        case .head: mayStartRequest
        case .fixedBody, .chunkedBody: true
        }
    }

    /// Makes space at the end of the input buffer: rewinds it when empty, moves unparsed
    /// bytes to the front, or grows it up to the head limit. False when it is full of a
    /// head that the parser will refuse.
    private func makeRoom() -> Bool {
        if inputStart == inputEnd {
            inputStart = 0
            inputEnd = 0
        }
        if inputEnd < input.count { return true }
        if inputStart > 0 {
            input.withUnsafeMutableBytes { buffer in
                guard let base = buffer.baseAddress else { return }
                memmove(base, base + inputStart, inputEnd - inputStart)
            }
            inputEnd -= inputStart
            inputStart = 0
            return true
        }
        guard input.count < loop.limits.inputBufferLimit else { return false }
        input.append(contentsOf: repeatElement(0, count: min(input.count, loop.limits.inputBufferLimit - input.count)))
        return true
    }

    /// Parses buffered bytes into requests and dispatches them, as far as they go.
    private func parseBuffered() {
        while !isClosed {
            switch phase {
            case .stopped:
                return
            case .head:
                guard mayStartRequest, parseHead() else { return }
            case .fixedBody(let remaining):
                guard inputStart < inputEnd else { return }
                continuePending = false
                let count = min(remaining, inputEnd - inputStart)
                currentBody.append(contentsOf: input[inputStart..<(inputStart + count)])
                inputStart += count
                if count == remaining {
                    finishRequest()
                } else {
                    phase = .fixedBody(remaining: remaining - count)
                    return
                }
            case .chunkedBody(var decoder):
                guard inputStart < inputEnd else { return }
                continuePending = false
                let limits = loop.limits
                let decoded = input.withUnsafeBytes { buffer in
                    Result { () throws(HTTPProtocolError) in
                        try decoder.decode(
                            buffer[inputStart..<inputEnd], into: &currentBody, maxBodyBytes: limits.maxBodyBytes,
                            maxTrailerBytes: limits.maxHeaderBytes)
                    }
                }
                switch decoded {
                case .success(let count):
                    inputStart += count
                case .failure(let error):
                    refuse(error)
                    return
                }
                if decoder.isComplete {
                    finishRequest()
                } else {
                    phase = .chunkedBody(decoder)
                    return
                }
            }
        }
    }

    /// Parses a head if one has fully arrived and starts its request. False when more
    /// bytes are needed or the head was refused.
    private func parseHead() -> Bool {
        if headStartedAt == 0 {
            // RFC 9112 section 2.2: ignore empty lines before a request line.
            while inputStart < inputEnd
                && (input[inputStart] == ASCII.carriageReturn || input[inputStart] == ASCII.lineFeed)
            {
                inputStart += 1
            }
            guard inputStart < inputEnd else { return false }
            headStartedAt = loop.now
            headScanResume = 0
        }
        let limits = loop.limits
        let outcome = input.withUnsafeBytes { buffer in
            RequestHeadParser.next(
                in: UnsafeRawBufferPointer(rebasing: buffer[inputStart..<inputEnd]), resumingAt: headScanResume,
                maxHeaderBytes: limits.maxHeaderBytes, maxBodyBytes: limits.maxBodyBytes, reusing: &spareHeaders)
        }
        switch consume outcome {
        case .incomplete(let resumeAt):
            headScanResume = resumeAt
            return false
        case .refused(let error):
            refuse(error)
            return false
        case .complete(let head, let length):
            inputStart += length
            headStartedAt = 0
            beginRequest(head)
            return true
        }
    }

    /// Sets up receiving the body of `head`, or dispatches it at once when it has none.
    private func beginRequest(_ head: consuming RequestHead) {
        let framing = head.framing
        let expectsContinue = head.expectsContinue
        currentHead = consume head
        currentReceivedAt = csys_monotonic_nanos()
        switch framing {
        case .none:
            finishRequest()
            return
        case .length(let length):
            currentBody.reserveCapacity(length)
            phase = .fixedBody(remaining: length)
        case .chunked:
            phase = .chunkedBody(ChunkedDecoder())
        }
        bodyStartedAt = loop.now
        continuePending = expectsContinue && inputStart == inputEnd
    }

    /// Hands the complete current request to the responder and queues its slot.
    ///
    /// Then takes back the request's header and body storage for the next request: a
    /// responder that answers at once keeps no copy of them, so the next request
    /// allocates neither (a kept copy makes the next one allocate, as without this).
    private func finishRequest() {
        guard var head = currentHead.take() else { return }
        continuePending = false
        var body: [UInt8] = []
        swap(&body, &currentBody)
        var headers = HTTPHeaders()
        swap(&headers, &head.headers)
        phase = head.keepAlive ? .head : .stopped
        clientAskedToClose = !head.keepAlive
        slots.append(Slot(response: nil, isHead: head.isHead, version: head.version, close: !head.keepAlive))
        let address = ResponseAddress(fd: fd, serial: serial, sequence: nextSequence)
        nextSequence += 1
        var request = HTTPRequest(
            method: head.method, path: head.path, query: head.query, version: head.version, headers: consume headers,
            body: consume body, peer: peer, receivedAtNanos: currentReceivedAt)
        loop.responder.handle(request, reply: HTTPReply(mailbox: loop.mailbox, address: address))
        swap(&spareHeaders, &request.headers)
        guard request.body.capacity <= Self.keptBodyCapacity else { return }
        swap(&currentBody, &request.body)
        currentBody.removeAll(keepingCapacity: true)
    }

    /// The largest body storage kept for the next request; a larger one is freed.
    static var keptBodyCapacity: Int { 1 << 16 }

    /// Answers with `error` after the requests in flight, then closes; reads no more.
    func refuse(_ error: HTTPProtocolError) {
        currentHead = nil
        currentBody = []
        continuePending = false
        headStartedAt = 0
        phase = .stopped
        refusedInput = true
        slots.append(Slot(response: loop.errorResponse(error), isHead: false, version: .http1_1, close: true))
        nextSequence += 1
    }

    /// Reads and drops whatever the client still sends after a lingering close began,
    /// closing at its end of stream.
    func drainLingering() {
        while readable {
            let count = input.withUnsafeMutableBytes { buffer -> Int in
                guard let base = buffer.baseAddress else { return 0 }
                return csys_recv(fd, base, buffer.count)
            }
            if count == 0 || (count < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                close()
                return
            }
            if count < 0 && errno != EINTR { readable = false }
        }
    }
}
