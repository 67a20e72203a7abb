import Glibc
import Ledger
import Logging

/// Every command, in the order `keyledger --help` lists them.
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
        + "Every command writes its stderr lines as JSON objects, or as text with --log-format text.\n"
    return text
}

/// The `--log-format` of `args` (before any `--`), else `KEYLEDGER_LOG_FORMAT`, else json:
/// chosen before the command parses its arguments, so that even their errors are lines of
/// that format.
func logFormat(_ args: ArraySlice<String>) throws -> LogFormat {
    var text = environmentValue(Arguments.variable(Option.logFormat.name))
    let options = args.prefix { $0 != "--" }
    for (i, arg) in options.enumerated() {
        if arg.hasPrefix("--log-format=") { text = String(arg.dropFirst("--log-format=".count)) }
        if arg == "--log-format", i + 1 < options.count { text = options[options.startIndex + i + 1] }
    }
    guard let text else { return .json }
    guard let format = LogFormat(rawValue: text) else {
        throw UsageError("--log-format is json or text, not \(text)")
    }
    return format
}

/// An error line: `message` (any secret in it redacted); for a usage error, also the usage
/// line and where help is (as text: the whole help after the line, for the person at the
/// terminal).
func printError(_ message: String, help: String? = nil) {
    let message = redactingSecrets(message)
    guard let help, Log.format == .json else {
        Log.error(message)
        if let help { writeError("\n" + help + "\n") }
        return
    }
    let command = CommandList.all.contains { $0.name == argv[1] } ? argv[1] + " " : ""
    Log.error(message, ["usage": "\(help.prefix { $0 != "\n" })", "help": "keyledger \(command)--help"])
}

// Writes to a closed pipe must not kill the process.
signal(SIGPIPE, SIG_IGN)
let argv = CommandLine.arguments
do {
    Log.use(try logFormat(argv.dropFirst()))
} catch {
    Log.error("\(error)")
    exit(2)
}
guard argv.count >= 2, argv[1] != "--help", argv[1] != "-h" else {
    print(usage(), terminator: "")
    exit(argv.count >= 2 ? 0 : 2)
}
guard let command = CommandList.all.first(where: { $0.name == argv[1] }) else {
    let names = CommandList.all.map { $0.name }
    let nearest = Arguments.suggestion(for: argv[1], among: names).replacing("--", with: "")
    printError("unknown command \(argv[1])\(nearest)", help: usage())
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
    printError("\(error)", help: command.help)
    exit(2)
} catch let error as LedgerError {
    printError(error.description)
    exit(1)
} catch {
    printError("\(error)")
    exit(1)
}
