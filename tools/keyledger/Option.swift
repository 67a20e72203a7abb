/// One option of a command, declared once: its name, the value it takes, its environment
/// variable, its default and what it does.
///
/// The parser (``Arguments``), the command's `--help` text and the option tables of
/// docs/operations.md are all derived from these declarations, so they cannot drift
/// (CLITests checks the help and the docs against them).
struct Option: Sendable, Equatable {
    /// The name without its dashes: `max-body` for `--max-body`.
    let name: String
    /// What the value looks like in help (`DIR`, `N`); nil for a flag, which takes none.
    let placeholder: String?
    /// True for configuration, which falls back to ``variable`` when the command line does
    /// not give it; filters and other per-call options come from the command line only.
    let configuration: Bool
    /// The value the command uses when neither the command line nor the environment gives
    /// one; nil when there is none.
    let defaultValue: String?
    /// The default as help shows it when it is not a fixed value (`keyledger/<ledger id>`).
    let shownDefault: String?
    /// The whole numbers the value may be, for a numeric option.
    let range: ClosedRange<Int>?
    /// True when the command refuses to run without it.
    let required: Bool
    /// What the option does, one sentence without its default or environment variable.
    let description: String

    var isFlag: Bool { placeholder == nil }

    /// `KEYLEDGER_<NAME>` (dashes as underscores) for configuration, else nil.
    var variable: String? { configuration ? Arguments.variable(name) : nil }

    /// `--name PLACEHOLDER`, or `--name` for a flag.
    var synopsis: String { "--" + name + (placeholder.map { " " + $0 } ?? "") }

    /// An option that takes no value.
    static func flag(_ name: String, _ description: String) -> Option {
        Option(
            name: name, placeholder: nil, configuration: false, defaultValue: nil, shownDefault: nil, range: nil,
            required: false, description: description)
    }

    /// An option that takes a text value.
    ///
    /// - Parameters:
    ///   - configuration: the value may come from `KEYLEDGER_<NAME>` instead.
    ///   - defaultValue: the value when none is given.
    ///   - shownDefault: what help says the default is when it depends on the ledger.
    static func text(
        _ name: String, _ placeholder: String, configuration: Bool = false, required: Bool = false,
        default defaultValue: String? = nil, shownDefault: String? = nil, _ description: String
    ) -> Option {
        Option(
            name: name, placeholder: placeholder, configuration: configuration, defaultValue: defaultValue,
            shownDefault: shownDefault, range: nil, required: required, description: description)
    }

    /// An option that takes a whole number in `range`, `defaultValue` when absent.
    static func number(
        _ name: String, _ placeholder: String = "N", configuration: Bool = false, default defaultValue: Int,
        in range: ClosedRange<Int> = 1...Int.max, _ description: String
    ) -> Option {
        Option(
            name: name, placeholder: placeholder, configuration: configuration, defaultValue: String(defaultValue),
            shownDefault: nil, range: range, required: false, description: description)
    }

    /// `--data DIR`, the data directory almost every command needs.
    static let data = text(
        "data", "DIR", configuration: true, required: true, "the data directory, made by keyledger init")

    /// `--log-format`, which every command takes: how its stderr lines are written.
    static let logFormat = text(
        "log-format", "json|text", configuration: true, default: "json",
        "stderr lines as one JSON object each (time, level, message, fields) or as text for a terminal")
}
