/// A command's `--help` text, made from its declarations: the usage line (required options,
/// positional arguments), what the command does, then one entry per option with its
/// default, range and environment variable.
enum HelpText {
    /// Where descriptions wrap.
    static let width = 100
    /// The column descriptions start in.
    static let column = 30

    static func render(_ command: any CLICommand.Type) -> String {
        let options = command.options + [.logFormat]
        var usage = "usage: keyledger \(command.name)"
        for option in options where option.required { usage += " " + option.synopsis }
        if !command.arguments.isEmpty { usage += " " + command.arguments }
        if options.contains(where: { !$0.required }) { usage += " [options]" }
        var text = usage + "\n\n" + command.about + "\n\noptions:\n"
        for option in options { text += entry(option) }
        return String(text.dropLast())
    }

    /// `  --name VALUE   description (default, range, variable)`, wrapped.
    static func entry(_ option: Option) -> String {
        let head = "  " + option.synopsis
        // Each detail ("default 65536", "1 to 256") stays on one line.
        var words = option.description.split(separator: " ").map(String.init)
        let parts = details(option)
        for (i, part) in parts.enumerated() {
            words.append((i == 0 ? "(" : "") + part + (i == parts.count - 1 ? ")" : ";"))
        }
        var lines: [String] = []
        var line = ""
        for word in words {
            if !line.isEmpty, column + line.count + 1 + word.count > width {
                lines.append(line)
                line = ""
            }
            line += (line.isEmpty ? "" : " ") + word
        }
        lines.append(line)
        let indent = String(repeating: " ", count: column)
        var text = head.count < column - 1 ? head.padded(to: column) : head + "\n" + indent
        text += lines.joined(separator: "\n" + indent) + "\n"
        return text
    }

    /// What help says beside the description: required or the default, the range, the
    /// environment variable.
    static func details(_ option: Option) -> [String] {
        var parts: [String] = []
        if option.required {
            parts.append("required")
        } else if let shown = option.shownDefault ?? option.defaultValue {
            parts.append("default " + shown)
        }
        if let range = option.range { parts.append(rangeText(range)) }
        if let variable = option.variable { parts.append(variable) }
        return parts
    }

    /// `1 to 256`, or `at least 1` when unbounded above.
    static func rangeText(_ range: ClosedRange<Int>) -> String {
        range.upperBound == Int.max ? "at least \(range.lowerBound)" : "\(range.lowerBound) to \(range.upperBound)"
    }
}
