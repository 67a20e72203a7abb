import Foundation
import Testing

@testable import keyledger

/// The `keyledger` executable built beside the test bundle.
func keyledgerBinary() throws -> String {
    let exe = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
    return URL(fileURLWithPath: exe).deletingLastPathComponent().appendingPathComponent("keyledger").path
}

/// Runs `keyledger` with `args` in an environment holding only `PATH` (no `KEYLEDGER_*`
/// of the caller's can change what the parser sees); returns status, stdout and stderr.
func runKeyledger(_ args: [String]) throws -> (status: Int32, out: String, err: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: try keyledgerBinary())
    process.arguments = args
    process.environment = ["PATH": "/usr/bin:/bin"]
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    let errData = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (
        process.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self)
    )
}

/// The option entries of a help text: `--name` and its placeholder (nil for a flag), in order.
func helpEntries(_ help: String) -> [(name: String, placeholder: String?)] {
    help.split(separator: "\n").compactMap { line in
        guard line.hasPrefix("  --") else { return nil }
        let words = line.dropFirst(4).split(separator: " ", maxSplits: 2, omittingEmptySubsequences: true)
        guard let name = words.first else { return nil }
        // A flag's description follows after the padding; a placeholder directly after one space.
        let afterName = line.dropFirst(4 + name.count)
        let placeholder = afterName.hasPrefix(" ") && !afterName.hasPrefix("  ") ? words.dropFirst().first : nil
        return (String(name), placeholder.map(String.init))
    }
}

/// Every `--name` the help text of `command` mentions anywhere (entries, usage line,
/// description), but for another command's option named with it (`keyledger export --proofs`).
func mentionedOptions(_ help: String, of command: String) throws -> Set<String> {
    let pattern = try NSRegularExpression(pattern: "(?<![a-z-])(?:keyledger ([a-z-]+) )?--([a-z][a-z0-9-]*)")
    let text = help as NSString
    var names: Set<String> = []
    for match in pattern.matches(in: help, range: NSRange(location: 0, length: text.length)) {
        let other = match.range(at: 1)
        if other.location != NSNotFound, text.substring(with: other) != command { continue }
        names.insert(text.substring(with: match.range(at: 2)))
    }
    return names
}

/// `keyledger <command> --help` lists every option the command declares, with its
/// placeholder, default and environment variable; every option it mentions anywhere is one
/// of them; and the parser accepts each listed option as listed (a value where the help
/// shows one, none for a flag).
@Test(arguments: CommandList.all.map { $0.name })
func helpAndParserAgree(_ name: String) throws {
    let command = try #require(CommandList.all.first { $0.name == name })
    let help = try runKeyledger([name, "--help"])
    #expect(help.status == 0)
    let declared = command.options + [.logFormat]
    #expect(Set(declared.map(\.name)).count == declared.count, "\(name) declares an option twice")
    let entries = helpEntries(help.out)
    #expect(entries.map(\.name) == declared.map(\.name), "\(help.out)")
    for option in declared {
        let entry = entries.first { $0.name == option.name }
        #expect(entry?.placeholder == option.placeholder, "--\(option.name) in \(name) --help")
        if let variable = option.variable { #expect(help.out.contains(variable), "\(variable) in \(name) --help") }
        if let shown = option.shownDefault ?? option.defaultValue {
            #expect(help.out.contains("default \(shown)"), "--\(option.name)'s default in \(name) --help")
        }
    }
    let mentioned = try mentionedOptions(help.out, of: name).subtracting(["help"])
    #expect(mentioned.subtracting(entries.map(\.name)).isEmpty, "\(name) --help mentions options it does not take")
    // The parser reads left to right: a probe after the option is reached only when the
    // option (and its value, if it takes one) was accepted. In process: a child process
    // per option would hold copies of the tests' open ledger locks while it starts.
    for entry in entries {
        // A value the option takes (its default, if it has one, is valid).
        let value = declared.first { $0.name == entry.name }?.defaultValue ?? "x"
        let args = ["--" + entry.name] + (entry.placeholder == nil ? [] : [value]) + ["--zz-probe"]
        let error = parseError(args, command).map { "\($0)" } ?? "accepted"
        #expect(error.hasPrefix("unknown option --zz-probe"), "keyledger \(name) \(args): \(error)")
    }
}

/// What parsing `args` as `command`'s arguments throws, nil when it accepts them.
func parseError(_ args: [String], _ command: any CLICommand.Type) -> (any Error)? {
    do {
        _ = try Arguments(args, declared: command.options)
        return nil
    } catch {
        return error
    }
}

/// The top-level usage names every command with its summary.
@Test func usageListsEveryCommand() throws {
    let run = try runKeyledger(["--help"])
    #expect(run.status == 0)
    for command in CommandList.all {
        #expect(run.out.contains("  \(command.name.padded(to: 14))\(command.summary)"), "\(command.name)")
    }
}

/// docs/operations.md's option tables are the declarations: serve's own table (serve's
/// options and `--log-format`), and one for every other command's options. On a mismatch
/// the failure prints the rows the tables must hold.
@Test func operationsDocumentListsEveryOption() throws {
    let docs = try String(contentsOfFile: repositoryPath("docs/operations.md"), encoding: .utf8)
    let serveRows = (ServeCommand.options + [.logFormat]).map { row(nil, $0) }
    #expect(
        tableRows(docs, under: "## `keyledger serve` options") == serveRows,
        "docs/operations.md, serve's table must read:\n\(serveRows.joined(separator: "\n"))")
    var groups: [(option: Option, commands: [String])] = []
    for command in CommandList.all where command.name != ServeCommand.name {
        for option in command.options {
            if let i = groups.firstIndex(where: { $0.option == option }) {
                groups[i].commands.append(command.name)
            } else {
                groups.append((option, [command.name]))
            }
        }
    }
    let others = CommandList.all.map { $0.name }.filter { $0 != ServeCommand.name }
    let otherRows = groups.map { group in
        // An option most commands take is named by the commands that do not take it.
        let missing = others.filter { !group.commands.contains($0) }
        let commands =
            group.commands.count > others.count / 2
            ? "every command but " + missing.map { "`\($0)`" }.joined(separator: ", ")
            : group.commands.map { "`\($0)`" }.joined(separator: ", ")
        return row(commands, group.option)
    }
    #expect(
        tableRows(docs, under: "## Other commands' options") == otherRows,
        "docs/operations.md, the other commands' table must read:\n\(otherRows.joined(separator: "\n"))")
}

/// A markdown row: the commands (when given), the option, its variable, default and what it does.
func row(_ commands: String?, _ option: Option) -> String {
    let shownDefault: String
    if option.required {
        shownDefault = "(required)"
    } else if option.isFlag {
        shownDefault = "off"
    } else if let value = option.shownDefault ?? option.defaultValue {
        shownDefault = "`\(value)`"
    } else {
        shownDefault = "none"
    }
    // `<size>` outside code would be read as an HTML tag.
    var what = option.description.replacing("<", with: "&lt;")
    if let range = option.range { what += " (\(HelpText.rangeText(range)))" }
    var cells = commands.map { [$0] } ?? []
    cells += ["`\(option.synopsis)`", option.variable.map { "`\($0)`" } ?? "", shownDefault, what]
    // A bar inside a cell, even in code, must be escaped (GitHub Flavored Markdown).
    return "| " + cells.map { $0.replacing("|", with: "\\|") }.joined(separator: " | ") + " |"
}

/// The rows (after the header and its rule) of the first table under `heading`.
func tableRows(_ markdown: String, under heading: String) -> [String] {
    let lines = markdown.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    guard let start = lines.firstIndex(of: heading) else { return [] }
    let section = lines[(start + 1)...].prefix { !$0.hasPrefix("## ") }
    return Array(section.drop { !$0.hasPrefix("|") }.prefix { $0.hasPrefix("|") }.dropFirst(2))
}

/// `relative` inside the repository this test file is in.
func repositoryPath(_ relative: String) -> String {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent(relative).path
}
