/// Prometheus text exposition (format 0.0.4), written family by family.
///
/// Label values are escaped as the format requires (backslash, double quote and line
/// feed), so a route template or a code can never break a line or forge a sample.
struct PrometheusText {
    private(set) var text = ""

    /// Starts a metric family: its `# HELP` and `# TYPE` lines.
    mutating func family(_ name: String, _ type: String, _ help: String) {
        text += "# HELP \(name) \(Self.escapeHelp(help))\n# TYPE \(name) \(type)\n"
    }

    /// One sample line: `name{labels} value`.
    mutating func sample(_ name: String, _ labels: [(String, String)] = [], _ value: String) {
        text += name
        if !labels.isEmpty {
            text += "{"
            for (i, (label, labelValue)) in labels.enumerated() {
                if i > 0 { text += "," }
                text += "\(label)=\"\(Self.escapeLabel(labelValue))\""
            }
            text += "}"
        }
        text += " \(value)\n"
    }

    mutating func sample(_ name: String, _ labels: [(String, String)] = [], _ value: UInt64) {
        sample(name, labels, String(value))
    }

    mutating func sample(_ name: String, _ labels: [(String, String)] = [], _ value: Double) {
        sample(name, labels, Self.number(value))
    }

    /// The `_bucket`, `_sum` and `_count` samples of one cumulative histogram.
    mutating func histogram(_ name: String, _ labels: [(String, String)] = [], _ h: Histogram) {
        for (bound, count) in zip(h.bounds, h.counts) {
            sample(name + "_bucket", labels + [("le", Self.number(bound))], count)
        }
        sample(name + "_bucket", labels + [("le", "+Inf")], h.count)
        sample(name + "_sum", labels, h.sum)
        sample(name + "_count", labels, h.count)
    }

    /// A label value with `\`, `"` and line feeds escaped.
    static func escapeLabel(_ value: String) -> String {
        var out = ""
        for c in value.unicodeScalars {
            switch c {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    /// Help text with `\` and line feeds escaped.
    static func escapeHelp(_ value: String) -> String {
        value.replacing("\\", with: "\\\\").replacing("\n", with: "\\n")
    }

    /// A float as Prometheus reads it: integers without a fraction.
    static func number(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value == .infinity { return "+Inf" }
        if value == -.infinity { return "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }
}

/// A cumulative histogram in Prometheus' shape: counts of observations at or under each
/// bound, their sum and count.
struct Histogram: Sendable {
    let bounds: [Double]
    /// Observations per bucket: at or under `bounds[i]` and over the bound before. An
    /// observation is one increment (every verification makes one); ``counts`` adds
    /// them up when the metrics are read.
    private var buckets: [UInt64]
    private(set) var sum: Double = 0
    private(set) var count: UInt64 = 0

    init(bounds: [Double]) {
        self.bounds = bounds
        buckets = Array(repeating: 0, count: bounds.count)
    }

    /// - Parameter counts: cumulative, as ``counts`` gives them.
    init(bounds: [Double], counts: [UInt64], sum: Double, count: UInt64) {
        self.bounds = bounds
        buckets = counts.indices.map { i in i == 0 ? counts[0] : counts[i] &- counts[i - 1] }
        self.sum = sum
        self.count = count
    }

    /// Observations at or under each bound.
    var counts: [UInt64] {
        var total: UInt64 = 0
        return buckets.map { bucket in
            total &+= bucket
            return total
        }
    }

    mutating func observe(_ value: Double) {
        if let i = bounds.firstIndex(where: { value <= $0 }) { buckets[i] += 1 }
        sum += value
        count += 1
    }

    /// Seconds bounds for request latency: 100 µs to 10 s.
    static let latencyBounds: [Double] = [
        0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
    ]
}
