/// Who is on the other end of a connection, as the kernel reports it.
public enum HTTPPeer: Sendable, Equatable {
    /// A TCP client: its IP address as text (IPv4 dotted quad or IPv6, without brackets
    /// or port). A client reaching an IPv6 listener over IPv4 shows its IPv4 form.
    case tcp(address: String)
    /// A client on the Unix socket: its process id and user id when it connected
    /// (`SO_PEERCRED`).
    case unix(pid: Int32, uid: UInt32)
}
