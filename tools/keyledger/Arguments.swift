import Glibc

/// A command's parsed options: `--name value` pairs and flags, each with an environment
/// variable fallback (`KEYLEDGER_<NAME>`).
struct Arguments {
    private var values: [String: String] = [:]
    private var flags: Set<String> = []
    var positional: [String] = []

    /// Parses `args` against the option names a command declares.
    init(_ args: [String], options: [String], flags knownFlags: [String]) throws {
        var i = 0
        while i < args.count {
            let arg = args[i]
            if arg == "--help" || arg == "-h" {
                flags.insert("help")
            } else if arg.hasPrefix("--") {
                var name = String(arg.dropFirst(2))
                var inline: String?
                if let eq = name.firstIndex(of: "=") {
                    inline = String(name[name.index(after: eq)...])
                    name = String(name[..<eq])
                }
                if knownFlags.contains(name) {
                    flags.insert(name)
                } else if options.contains(name) {
                    if let inline {
                        values[name] = inline
                    } else {
                        i += 1
                        guard i < args.count else { throw UsageError("--\(name) needs a value") }
                        values[name] = args[i]
                    }
                } else {
                    throw UsageError("unknown option --\(name)")
                }
            } else {
                positional.append(arg)
            }
            i += 1
        }
    }

    /// The option's value, else its environment variable, else nil.
    func value(_ name: String) -> String? {
        if let v = values[name] { return v }
        return environmentValue("KEYLEDGER_" + name.uppercased().replacing("-", with: "_"))
    }

    func has(_ flag: String) -> Bool { flags.contains(flag) }

    /// The data directory (`--data` / `KEYLEDGER_DATA`), required.
    func dataDirectory() throws -> String {
        guard let dir = value("data") else { throw UsageError("--data DIR (or KEYLEDGER_DATA) is required") }
        return dir
    }

    func integer(_ name: String, default fallback: Int) throws -> Int {
        guard let text = value(name) else { return fallback }
        guard let n = Int(text) else { throw UsageError("--\(name) takes a whole number, not \(text)") }
        return n
    }
}

/// A mistake in how a command was called; exits 2.
struct UsageError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}
