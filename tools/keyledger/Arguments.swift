import Glibc

/// A command's parsed arguments: `--name value` options, flags and positional arguments,
/// checked against the command's ``Option`` declarations.
///
/// Only configuration options (the data directory, addresses, server limits) fall back to
/// an environment variable (`KEYLEDGER_<NAME>`); filters and other per-call options come
/// from the command line only. A flag takes no value (`--quiet=false` is an error, not
/// quiet). `--` ends the options: what follows is positional. Unknown options, a flag given
/// a value, an option given twice, a missing required option and stray arguments are
/// errors, an unknown option with the nearest known name as a suggestion.
struct Arguments {
    private var values: [String: String] = [:]
    private var flags: Set<String> = []
    private let declared: [String: Option]
    var positional: [String] = []

    /// Parses `args` against the options a command declares.
    ///
    /// - Parameters:
    ///   - options: every option the command takes (``Option/logFormat`` is added).
    ///   - positional: positional arguments the command takes at most.
    /// - Throws: ``UsageError`` saying what is wrong with the arguments.
    init(_ args: [String], declared options: [Option], positional maxPositional: Int = 0) throws {
        let options = options + [.logFormat]
        declared = Dictionary(options.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let names = options.map(\.name)
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
                throw UsageError("unknown option \(arg)" + Self.suggestion(for: arg, among: names))
            }
            var name = String(arg.dropFirst(2))
            var inline: String?
            if let eq = name.firstIndex(of: "=") {
                inline = String(name[name.index(after: eq)...])
                name = String(name[..<eq])
            }
            guard let option = declared[name] else {
                throw UsageError("unknown option --\(name)" + Self.suggestion(for: name, among: names))
            }
            if option.isFlag {
                guard inline == nil else { throw UsageError("--\(name) is a flag and takes no value: write --\(name)") }
                flags.insert(name)
            } else {
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
            }
        }
        for option in options where option.required && given(option.name) == nil {
            throw UsageError(
                "\(option.synopsis)\(option.variable.map { " (or \($0))" } ?? "") is required")
        }
    }

    /// The value from the command line, else (for configuration) from the environment.
    private func given(_ name: String) -> String? {
        if let v = values[name] { return v }
        guard let variable = declared[name]?.variable else { return nil }
        return environmentValue(variable)
    }

    /// The option's value: from the command line, else (for configuration) from its
    /// environment variable, else its declared default, else nil.
    func value(_ name: String) -> String? {
        assert(declared[name] != nil, "--\(name) is read but not declared")
        return given(name) ?? declared[name]?.defaultValue
    }

    func has(_ flag: String) -> Bool {
        assert(flag == "help" || declared[flag]?.isFlag == true, "--\(flag) is read but not declared a flag")
        return flags.contains(flag)
    }

    /// The data directory (`--data` / `KEYLEDGER_DATA`), required and not empty.
    func dataDirectory() throws -> String {
        guard let dir = value("data"), !dir.isEmpty else {
            throw UsageError("--data DIR (or KEYLEDGER_DATA) is required")
        }
        return dir
    }

    /// The numeric option's whole number, its declared default when absent; it must lie
    /// in its declared range.
    func integer(_ name: String) throws -> Int {
        let range = declared[name]?.range ?? Int.min...Int.max
        guard let text = value(name) else { throw UsageError("--\(name) N is required") }
        let source = values[name] == nil && given(name) != nil ? " (from \(Self.variable(name)))" : ""
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
