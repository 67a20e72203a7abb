import Events

/// `text` with every well-formed secret in it replaced by `<secret>`, so that an error
/// echoing the command line back (a stray argument, an unknown value) never carries a
/// secret pasted in the wrong place to stderr.
///
/// A secret is a run of `[A-Za-z0-9_]` (prefix, 37 random and 6 checksum characters in
/// base62) whose checksum holds, so ordinary words are never taken for one.
func redactingSecrets(_ text: String) -> String {
    let bytes = Array(text.utf8)
    let shortest = Secret.randomLength + Secret.checksumLength + 2
    let longest = Secret.randomLength + Secret.checksumLength + 33
    func isWordByte(_ b: UInt8) -> Bool { Base62.value(of: b) != nil || b == UInt8(ascii: "_") }
    var out: [UInt8] = []
    out.reserveCapacity(bytes.count)
    var i = 0
    outer: while i < bytes.count {
        if isWordByte(bytes[i]) {
            var runEnd = i
            while runEnd < bytes.count, isWordByte(bytes[runEnd]) { runEnd += 1 }
            if runEnd - i >= shortest {
                for end in stride(from: min(runEnd, i + longest), through: i + shortest, by: -1) {
                    let found = bytes[i..<end].withUnsafeBytes { Secret.isWellFormed($0) }
                    if found {
                        out += "<secret>".utf8
                        i = end
                        continue outer
                    }
                }
            }
        }
        out.append(bytes[i])
        i += 1
    }
    return String(decoding: out, as: UTF8.self)
}
