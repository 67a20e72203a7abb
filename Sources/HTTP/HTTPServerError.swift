internal import Glibc

/// Why an `HTTPServer` could not bind or start.
public struct HTTPServerError: Error, Sendable, CustomStringConvertible {
    private enum Kind: Sendable {
        case system(operation: String, errno: Int32)
        case invalidAddress(String)
        case alreadyStarted
        case nothingBound
    }

    private let kind: Kind

    /// The `errno` of the failed system call, or `nil` when the error is not one.
    public var errno: Int32? {
        if case .system(_, let code) = kind { return code }
        return nil
    }

    public var description: String {
        switch kind {
        case .system(let operation, let code):
            "\(operation): \(String(cString: strerror(code)))"
        case .invalidAddress(let host):
            "'\(host)' is not a numeric IPv4 or IPv6 address"
        case .alreadyStarted:
            "the server was already started; bind before start() and start once"
        case .nothingBound:
            "start() needs at least one bindTCP or bindUnix first"
        }
    }

    static func system(_ operation: String, errno code: Int32 = Glibc.errno) -> Self {
        Self(kind: .system(operation: operation, errno: code))
    }

    static func invalidAddress(_ host: String) -> Self { Self(kind: .invalidAddress(host)) }
    static let alreadyStarted = Self(kind: .alreadyStarted)
    static let nothingBound = Self(kind: .nothingBound)
}
