import Glibc

/// A command's parsed arguments: `--name value` options, flags and positional arguments.
///
/// Only the options a command names in `environment` (configuration: the data directory,
/// addresses, server limits) fall back to an environment variable (`KEYLEDGER_<NAME>`);
/// filters and other per-call options come from the command line only. A flag takes no
/// value (`--quiet=false` is an error, not quiet). `--` ends the options: what follows is
/// positional. Unknown options, a flag given a value, an option given twice and stray
/// arguments are errors, an unknown option with the nearest known name as a suggestion.
struct Arguments {
    private var values: [String: String] = [:]
    private var flags: Set<String> = []
    private let environment: Set<String>
    var positional: [String] = []

    /// Parses `args` against what a command declares.
    ///
    /// - Parameters:
    ///   - options: names of the options that take a value.
    ///   - flags: names of the options that take none.
    ///   - environment: the options that fall back to `KEYLEDGER_<NAME>`.
    ///   - positional: positional arguments the command takes at most.
    /// - Throws: ``UsageError`` saying what is wrong with the arguments.
    init(
        _ args: [String], options: [String], flags knownFlags: [String], environment: [String] = ["data"],
        positional maxPositional: Int = 0
    ) throws {
        self.environment = Set(environment)
        var i = 0
        var optionsEnded = false
        while i < args.count {
            let arg = args[i]
            i += 1
            if optionsEnded || arg == "-" || !arg.hasPrefix("-") {
                guard positional.count < maxPositional else {
                    throw UsageError(
                        maxPositional == 0
                            ? "unexpected argument \(arg): this command takes only options"
                            : "unexpected argument \(arg)")
                }
                positional.append(arg)
                continue
            }
            if arg == "--" {
                optionsEnded = true
                continue
            }
            if arg == "--help" || arg == "-h" {
                flags.insert("help")
                continue
            }
            guard arg.hasPrefix("--") else {
                throw UsageError("unknown option \(arg)" + Self.suggestion(for: arg, among: options + knownFlags))
            }
            var name = String(arg.dropFirst(2))
            var inline: String?
            if let eq = name.firstIndex(of: "=") {
                inline = String(name[name.index(after: eq)...])
                name = String(name[..<eq])
            }
            if knownFlags.contains(name) {
                guard inline == nil else { throw UsageError("--\(name) is a flag and takes no value: write --\(name)") }
                flags.insert(name)
            } else if options.contains(name) {
                guard values[name] == nil else { throw UsageError("--\(name) is given twice") }
                if let inline {
                    values[name] = inline
                } else {
                    guard i < args.count, !args[i].hasPrefix("--") else {
                        throw UsageError("--\(name) needs a value")
                    }
                    values[name] = args[i]
                    i += 1
                }
            } else {
                throw UsageError("unknown option --\(name)" + Self.suggestion(for: name, among: options + knownFlags))
            }
        }
    }

    /// The option's value, else (for a configuration option) its environment variable,
    /// else nil.
    func value(_ name: String) -> String? {
        if let v = values[name] { return v }
        guard environment.contains(name) else { return nil }
        return environmentValue(Self.variable(name))
    }

    func has(_ flag: String) -> Bool { flags.contains(flag) }

    /// The data directory (`--data` / `KEYLEDGER_DATA`), required.
    func dataDirectory() throws -> String {
        guard let dir = value("data"), !dir.isEmpty else {
            throw UsageError("--data DIR (or KEYLEDGER_DATA) is required")
        }
        return dir
    }

    /// The option's whole number, `fallback` when absent; it must lie in `range`.
    func integer(_ name: String, default fallback: Int, in range: ClosedRange<Int> = 1...Int.max) throws -> Int {
        guard let text = value(name) else { return fallback }
        let source = values[name] == nil ? " (from \(Self.variable(name)))" : ""
        guard let n = Int(text) else { throw UsageError("--\(name) takes a whole number, not \(text)\(source)") }
        guard range.contains(n) else {
            let bounds =
                range.upperBound == Int.max
                ? "at least \(range.lowerBound)" : "\(range.lowerBound) to \(range.upperBound)"
            throw UsageError("--\(name) must be \(bounds), not \(n)\(source)")
        }
        return n
    }

    /// `KEYLEDGER_<NAME>` with dashes as underscores.
    static func variable(_ name: String) -> String { "KEYLEDGER_" + name.uppercased().replacing("-", with: "_") }

    /// " (did you mean --x?)" for the known name nearest to `name`, when one is near.
    static func suggestion(for name: String, among known: [String]) -> String {
        let bare = String(name.drop { $0 == "-" })
        let scored = known.map { (name: $0, distance: editDistance(bare, $0)) }
        guard let best = scored.min(by: { $0.distance < $1.distance }),
            best.distance <= max(2, best.name.count / 3) || best.name.hasPrefix(bare) && !bare.isEmpty
        else { return "" }
        return " (did you mean --\(best.name)?)"
    }

    /// Levenshtein distance between `a` and `b`.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a.utf8)
        let b = Array(b.utf8)
        var row = Array(0...b.count)
        for i in 1...max(1, a.count) where !a.isEmpty {
            var diagonal = row[0]
            row[0] = i
            for j in 1...max(1, b.count) where !b.isEmpty {
                let above = row[j]
                row[j] = min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1))
                diagonal = above
            }
        }
        return row[b.count]
    }
}

/// A mistake in how a command was called; exits 2.
struct UsageError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}
