/// A CLI command: a static name, summary, description and option declarations, and `run`
/// (swift-argument-parser style without the package). Its help text and its parser both
/// come from ``options``.
protocol CLICommand: Sendable {
    static var name: String { get }
    static var summary: String { get }
    /// The positional arguments as the usage line shows them (`KEY`); empty for none.
    static var arguments: String { get }
    /// What the command does: the help text between the usage line and the options.
    static var about: String { get }
    /// Every option the command takes, once each (``Option/logFormat`` is added to all).
    static var options: [Option] { get }
    static func run(_ args: [String]) throws -> Int32
}

extension CLICommand {
    static var arguments: String { "" }

    /// The `--help` text, made from the declarations.
    static var help: String { HelpText.render(Self.self) }

    /// `args` parsed against ``options``, with at most `positional` positional arguments.
    static func parse(_ args: [String], positional: Int = 0) throws -> Arguments {
        try Arguments(args, declared: options, positional: positional)
    }
}
