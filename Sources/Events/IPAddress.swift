internal import Glibc

/// An IPv4 or IPv6 address. IPv4 is held as its IPv4-mapped IPv6 form
/// (`::ffff:a.b.c.d`), so one comparison serves both families.
public struct IPAddress: Hashable, Sendable, CustomStringConvertible {
    /// The 128 bits, big-endian halves.
    public let high: UInt64
    public let low: UInt64
    /// True for an IPv4 address.
    public let isV4: Bool

    public init(high: UInt64, low: UInt64, isV4: Bool) {
        self.high = high
        self.low = low
        self.isV4 = isV4
    }

    /// Parses dotted IPv4 or RFC 4291 IPv6 text (no zone, no brackets); nil otherwise.
    public init?(_ text: some StringProtocol) {
        let string = String(text)
        var v4 = in_addr()
        if inet_pton(AF_INET, string, &v4) == 1 {
            self.init(v4: UInt32(bigEndian: v4.s_addr))
            return
        }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, string, &v6) == 1 else { return nil }
        let (h, l) = Swift.withUnsafeBytes(of: &v6) {
            (
                UInt64(bigEndian: $0.loadUnaligned(as: UInt64.self)),
                UInt64(bigEndian: $0.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
            )
        }
        // An IPv4-mapped IPv6 address is the IPv4 address it maps.
        self.init(high: h, low: l, isV4: h == 0 && l >> 32 == 0xFFFF)
    }

    /// An IPv4 address from its 32 bits.
    public init(v4 bits: UInt32) {
        self.init(high: 0, low: 0xFFFF_0000_0000 | UInt64(bits), isV4: true)
    }

    /// 4 bytes for IPv4, 16 for IPv6, network order.
    public var bytes: [UInt8] { withUnsafeBytes { Array($0) } }

    /// Calls `body` with ``bytes`` in a buffer valid only during the call (no array made:
    /// every event's record holds its request's address).
    public func withUnsafeBytes<T>(_ body: (UnsafeRawBufferPointer) throws -> T) rethrows -> T {
        if isV4 { return try Swift.withUnsafeBytes(of: UInt32(truncatingIfNeeded: low).bigEndian, body) }
        return try Swift.withUnsafeBytes(of: (high.bigEndian, low.bigEndian), body)
    }

    /// An address from 4 or 16 network-order bytes; nil for other lengths.
    public init?(bytes: UnsafeRawBufferPointer) {
        switch bytes.count {
        case 4:
            self.init(v4: UInt32(bigEndian: bytes.loadUnaligned(as: UInt32.self)))
        case 16:
            let h = UInt64(bigEndian: bytes.loadUnaligned(as: UInt64.self))
            let l = UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
            self.init(high: h, low: l, isV4: h == 0 && l >> 32 == 0xFFFF)
        default:
            return nil
        }
    }

    /// Canonical text (`inet_ntop`).
    public var description: String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        var raw = bytes
        let family = isV4 ? AF_INET : AF_INET6
        guard inet_ntop(family, &raw, &buffer, socklen_t(buffer.count)) != nil else { return "?" }
        return buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }
}

/// An address range: a network address and a prefix length (`10.0.0.0/8`, `2001:db8::/32`).
public struct CIDR: Hashable, Sendable, CustomStringConvertible {
    public let network: IPAddress
    /// Prefix length within the address family: 0...32 for IPv4, 0...128 for IPv6.
    public let prefixLength: Int

    /// Why a text is not a valid range.
    public enum ParseError: Error, Sendable, Equatable {
        case notAnAddress
        case badPrefixLength
        case hostBitsSet
    }

    public init(network: IPAddress, prefixLength: Int) {
        self.network = network
        self.prefixLength = prefixLength
    }

    /// Parses `address` or `address/length`; a bare address is a single-host range.
    /// Host bits set after the prefix are refused rather than silently masked.
    public static func parse(_ text: some StringProtocol) -> Result<CIDR, ParseError> {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = IPAddress(parts[0]) else { return .failure(.notAnAddress) }
        let familyBits = address.isV4 ? 32 : 128
        var length = familyBits
        if parts.count == 2 {
            guard let n = Int(parts[1]), (0...familyBits).contains(n), parts[1].allSatisfy(\.isASCII),
                parts[1].first != "+"
            else { return .failure(.badPrefixLength) }
            length = n
        }
        let range = CIDR(network: address, prefixLength: length)
        guard range.masked(address) == address else { return .failure(.hostBitsSet) }
        return .success(range)
    }

    private var mappedLength: Int { network.isV4 ? prefixLength + 96 : prefixLength }

    private func masked(_ address: IPAddress) -> IPAddress {
        let n = mappedLength
        let highMask: UInt64 = n >= 64 ? .max : (n == 0 ? 0 : ~(UInt64.max >> n))
        let lowMask: UInt64 = n <= 64 ? 0 : (n >= 128 ? .max : ~(UInt64.max >> (n - 64)))
        return IPAddress(high: address.high & highMask, low: address.low & lowMask, isV4: address.isV4)
    }

    /// True when `address` lies in this range (and is of the same family).
    public func contains(_ address: IPAddress) -> Bool {
        address.isV4 == network.isV4 && masked(address) == network
    }

    /// `network/prefixLength`.
    public var description: String { "\(network)/\(prefixLength)" }
}
