import Foundation
import Ledger
import Testing

/// A ledger holding three keys (three events), made once for every case below.
let cliLedger: String = {
    let dir = TempDirectory()
    _ = try? Ledger.initialize(path: dir.path)
    try? ledgerWithKeys(3, in: dir.path)
    return dir.path
}()

/// One run of the binary: arguments (`DATA` stands for the ledger's directory), added
/// environment, expected exit status, a fragment of stderr and the lines on stdout.
struct CLICase: Sendable, CustomTestStringConvertible {
    var args: [String]
    var environment: [String: String] = [:]
    var status: Int32
    var stderr: String = ""
    var lines: Int?

    var testDescription: String {
        environment.map { "\($0.key)=\($0.value) " }.joined() + "keyledger " + args.joined(separator: " ")
    }
}

/// Filters come from flags only, configuration from flags or the environment; flags take
/// no value; unknown options, stray arguments and numbers out of range are refused.
@Test(arguments: [
    // The environment does not filter.
    CLICase(args: ["logs", "--data", "DATA"], environment: ["KEYLEDGER_LIMIT": "1"], status: 0, lines: 3),
    CLICase(args: ["logs", "--data", "DATA"], environment: ["KEYLEDGER_OWNER": "nobody"], status: 0, lines: 3),
    CLICase(args: ["logs", "--data", "DATA", "--limit", "1"], status: 0, lines: 1),
    CLICase(args: ["logs", "--data", "DATA", "--owner", "nobody"], status: 0, lines: 0),
    // The ledger's three creations name no route; a route template starts with /.
    CLICase(args: ["logs", "--data", "DATA", "--route", "/v1/keys"], status: 0, lines: 0),
    CLICase(
        args: ["logs", "--data", "DATA", "--route", "v1/keys"], status: 2, stderr: "--route takes route templates"),
    // Configuration does come from the environment.
    CLICase(args: ["verify-chain"], environment: ["KEYLEDGER_DATA": "DATA"], status: 0, lines: 1),
    CLICase(
        args: ["serve", "--data", "DATA"], environment: ["KEYLEDGER_EVENT_LOOPS": "0"], status: 2,
        stderr: "--event-loops must be 1 to 256, not 0 (from KEYLEDGER_EVENT_LOOPS)"),
    // Flags take no value.
    CLICase(
        args: ["serve", "--data", "DATA", "--quiet=false"], status: 2, stderr: "--quiet is a flag and takes no value"),
    CLICase(
        args: ["backup", "--data", "DATA", "--to", "/tmp/x", "--no-compact=1"], status: 2, stderr: "takes no value"),
    // Numbers are range-checked.
    CLICase(
        args: ["serve", "--data", "DATA", "--event-loops", "0"], status: 2, stderr: "--event-loops must be 1 to 256"),
    CLICase(
        args: ["serve", "--data", "DATA", "--max-connections", "-5"], status: 2, stderr: "--max-connections must be"),
    CLICase(args: ["serve", "--data", "DATA", "--max-body", "lots"], status: 2, stderr: "takes a whole number"),
    CLICase(args: ["logs", "--data", "DATA", "--limit", "0"], status: 2, stderr: "--limit must be at least 1"),
    CLICase(
        args: ["replay", "--data", "DATA", "--transaction-events", "-1"], status: 2,
        stderr: "--transaction-events must be"),
    // Unknown options get the nearest name; stray arguments are refused; -- ends options.
    CLICase(
        args: ["logs", "--data", "DATA", "--limt", "1"], status: 2,
        stderr: "unknown option --limt (did you mean --limit?)"),
    CLICase(
        args: ["serve", "--data", "DATA", "--max-conections", "5"], status: 2, stderr: "did you mean --max-connections?"
    ),
    CLICase(args: ["logs", "--data", "DATA", "-n", "1"], status: 2, stderr: "unknown option -n"),
    CLICase(args: ["logs", "--data", "DATA", "stray"], status: 2, stderr: "unexpected argument stray"),
    CLICase(args: ["verify-chain", "--data", "DATA", "--", "--help"], status: 2, stderr: "unexpected argument --help"),
    CLICase(args: ["logs", "--data", "DATA", "--data", "DATA"], status: 2, stderr: "--data is given twice"),
    CLICase(args: ["logs", "--data", "--limit", "1"], status: 2, stderr: "--data needs a value"),
    CLICase(args: ["verfy-chain"], status: 2, stderr: "unknown command verfy-chain (did you mean verify-chain?)"),
    CLICase(
        args: ["history", "--data", "DATA", "--at", "1", "key_a", "key_b"], status: 2,
        stderr: "unexpected argument key_b"),
])
func commandLineArguments(_ c: CLICase) throws {
    let args = c.args.map { $0 == "DATA" ? cliLedger : $0 }
    let environment = c.environment.mapValues { $0 == "DATA" ? cliLedger : $0 }
    let run = try runKeyledger(args, environment: environment)
    #expect(run.status == c.status, "\(run.err)")
    #expect(c.stderr.isEmpty || run.err.contains(c.stderr), "\(run.err)")
    if let lines = c.lines { #expect(run.out.split(separator: "\n").count == lines, "\(run.out)") }
}
