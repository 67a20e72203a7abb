import Events
import Synchronization

/// The request ids the server makes: `req_` and 20 base62 digits, unique within the
/// process and unrelated across processes, without the kernel's random source per
/// request (it cost a fifth of an event loop's work for a verification; hot path,
/// STYLE.md 12). Not secrets: nothing is granted by knowing one.
///
/// A counter is run through a bijection of 64-bit words keyed at start from
/// `SystemRandom`; its image fills the last 11 digits (distinct counters, distinct
/// images), a second keyed mix of it the first 9.
enum RequestIDs {
    private static let keys: (UInt64, UInt64) = {
        var random = SystemRandom()
        return (random.next(), random.next())
    }()
    private static let counter = Atomic<UInt64>(0)

    /// A new id.
    static func next() -> String {
        let n = counter.add(1, ordering: .relaxed).newValue
        let unique = mix(n &+ keys.0)
        let spread = mix(unique ^ keys.1)
        return Base62.digits.withUnsafeBufferPointer { alphabet in
            String(unsafeUninitializedCapacity: 24) { buffer in
                buffer[0] = UInt8(ascii: "r")
                buffer[1] = UInt8(ascii: "e")
                buffer[2] = UInt8(ascii: "q")
                buffer[3] = UInt8(ascii: "_")
                write(spread % 13_537_086_546_263_552, digits: 9, into: buffer, at: 4, alphabet)  // 62^9
                write(unique, digits: 11, into: buffer, at: 13, alphabet)
                return 24
            }
        }
    }

    /// SplitMix64's finalizer: a bijection on 64-bit words.
    static func mix(_ x: UInt64) -> UInt64 {
        var z = x
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// `value` as `digits` base62 digits from `alphabet` (``Base62/digits``), most
    /// significant first (11 hold any UInt64).
    private static func write(
        _ value: UInt64, digits: Int, into buffer: UnsafeMutableBufferPointer<UInt8>, at start: Int,
        _ alphabet: UnsafeBufferPointer<UInt8>
    ) {
        var rest = value
        for i in stride(from: start + digits - 1, through: start, by: -1) {
            buffer[i] = alphabet[Int(rest % 62)]
            rest /= 62
        }
    }
}
