internal import CSystem
internal import Glibc

extension EventLoop {
    /// Most connections taken from one listener per readiness event, so one busy
    /// listener cannot starve the connections already open.
    private static let acceptBatch = 64
    /// How long accepting pauses when the process runs out of descriptors or memory.
    private static let acceptPause: UInt64 = 100_000_000

    /// Accepts pending connections on `listener`; one over a cap (`ConnectionCounts`) gets
    /// a 503 and is closed.
    func accept(from listener: Listener) {
        for _ in 0..<Self.acceptBatch {
            let fd = peerAddress.withUnsafeMutableBufferPointer { buffer -> Int32 in
                guard let address = buffer.baseAddress else { return -1 }
                return csys_accept(listener.fd, address)
            }
            guard fd >= 0 else {
                switch errno {
                case EINTR, ECONNABORTED, EPROTO, EPERM:
                    continue
                case EMFILE, ENFILE, ENOBUFS, ENOMEM:
                    // The listener stays readable; watching it now would spin. Retry soon.
                    unwatchListeners()
                    acceptResumeAt = now + Self.acceptPause
                    nextSweep = min(nextSweep, acceptResumeAt)
                    return
                default:
                    return
                }
            }
            guard let peer = peer(of: fd, listener: listener) else {
                _ = csys_close(fd)
                continue
            }
            if let refusal = shared.connections.admit(peer) {
                refuseOverCapacity(fd, with: refusal)
                continue
            }
            adopt(fd: fd, peer: peer)
        }
    }

    private func peer(of fd: Int32, listener: Listener) -> HTTPPeer? {
        guard listener.isUnix else {
            return .tcp(
                address: peerAddress.withUnsafeBufferPointer { buffer in
                    String(decoding: buffer.prefix { $0 != 0 }.lazy.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                })
        }
        var pid: Int32 = 0
        var uid: UInt32 = 0
        guard csys_peer_credentials(fd, &pid, &uid) == 0 else { return nil }
        return .unix(pid: pid, uid: uid)
    }

    /// Registers an accepted socket counted by `admit` as a connection of this loop.
    private func adopt(fd: Int32, peer: HTTPPeer) {
        let serial = nextSerial
        nextSerial = nextSerial == UInt32.max ? 1 : nextSerial + 1
        let events = CSYS_EPOLLIN | CSYS_EPOLLOUT | CSYS_EPOLLRDHUP | CSYS_EPOLLET
        guard csys_epoll_ctl(epoll, CSYS_EPOLL_CTL_ADD, fd, events, Self.token(fd: fd, serial: serial)) == 0 else {
            shared.connections.release(peer)
            _ = csys_close(fd)
            return
        }
        let index = Int(fd)
        if index >= connections.count {
            connections.append(contentsOf: repeatElement(nil, count: index + 1 - connections.count))
        }
        connections[index] = Connection(fd: fd, serial: serial, peer: peer, loop: self)
        liveConnections += 1
    }

    /// Answers a connection over a cap with the error response of `refusal` and closes
    /// it, without reading its request.
    private func refuseOverCapacity(_ fd: Int32, with refusal: HTTPProtocolError) {
        var bytes: [UInt8] = []
        _ = ResponseEncoder.encode(
            errorResponse(refusal), isHead: false, version: .http1_1, close: true, date: date.current(),
            into: &bytes)
        _ = bytes.withUnsafeBytes { buffer in
            guard let base = buffer.baseAddress else { return 0 }
            return csys_send(fd, base, buffer.count)
        }
        _ = csys_shutdown_write(fd)
        _ = csys_close(fd)
    }
}
