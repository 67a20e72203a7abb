import Glibc
import Ledger

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
    /// Every option the command takes, once each.
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

enum CommandList {
    static let all: [any CLICommand.Type] = [
        InitCommand.self, ServeCommand.self, ReplayCommand.self, VerifyChainCommand.self, LogsCommand.self,
        UsageCommand.self, HistoryCommand.self, ExportCommand.self, BackupCommand.self, GenerateCommand.self,
        BenchCommand.self,
        BenchQueriesCommand.self, BenchProofsCommand.self, CheckpointCommand.self, VerifyExportCommand.self,
    ]
}

func usage() -> String {
    var text = "usage: keyledger <command> [options]\n\ncommands:\n"
    for command in CommandList.all {
        text += "  \(command.name.padded(to: 14))\(command.summary)\n"
    }
    text +=
        "\n`keyledger <command> --help` says what a command takes. Configuration options have an\n"
        + "environment variable: --data is KEYLEDGER_DATA, and serve's --listen is KEYLEDGER_LISTEN,\n"
        + "and so on; the options that choose what a command does (filters, limits) do not.\n"
    return text
}

func printError(_ message: String) {
    writeError("keyledger: " + message + "\n")
}

// Writes to a closed pipe must not kill the process.
signal(SIGPIPE, SIG_IGN)
let argv = CommandLine.arguments
guard argv.count >= 2, argv[1] != "--help", argv[1] != "-h" else {
    print(usage(), terminator: "")
    exit(argv.count >= 2 ? 0 : 2)
}
guard let command = CommandList.all.first(where: { $0.name == argv[1] }) else {
    let names = CommandList.all.map { $0.name }
    let nearest = Arguments.suggestion(for: argv[1], among: names).replacing("--", with: "")
    printError("unknown command \(argv[1])\(nearest)\n\n" + usage())
    exit(2)
}
let rest = Array(argv.dropFirst(2))
let options = rest.prefix { $0 != "--" }
if options.contains("--help") || options.contains("-h") {
    print(command.help)
    exit(0)
}
do {
    exit(try command.run(rest))
} catch let error as UsageError {
    printError("\(error)\n\n\(command.help)")
    exit(2)
} catch let error as LedgerError {
    printError(error.description)
    exit(1)
} catch {
    printError("\(error)")
    exit(1)
}
