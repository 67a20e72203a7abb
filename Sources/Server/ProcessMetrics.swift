import Glibc

/// The standard `process_*` metrics of Prometheus' client libraries, read from
/// `/proc/self` when scraped: CPU time, resident and virtual memory, open and maximum
/// file descriptors, start time.
struct ProcessMetrics {
    var cpuSeconds: Double = 0
    var residentBytes: UInt64 = 0
    var virtualBytes: UInt64 = 0
    var openFDs: UInt64 = 0
    var maxFDs: UInt64 = 0
    var startTimeSeconds: Double = 0

    /// The figures now; any that cannot be read stay 0.
    static func read() -> ProcessMetrics {
        var m = ProcessMetrics()
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        let page = UInt64(sysconf(Int32(_SC_PAGESIZE)))
        if let stat = readFile("/proc/self/stat"), let close = stat.lastIndex(of: ")") {
            // Fields after the command name (which may hold spaces): state is field 3.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            func field(_ n: Int) -> Double { n - 3 < fields.count ? Double(fields[n - 3]) ?? 0 : 0 }
            if ticks > 0 {
                m.cpuSeconds = (field(14) + field(15)) / ticks
                m.startTimeSeconds = bootTime() + field(22) / ticks
            }
            m.virtualBytes = UInt64(field(23))
            m.residentBytes = UInt64(field(24)) * page
        }
        m.openFDs = countEntries("/proc/self/fd")
        var limit = rlimit()
        if getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 { m.maxFDs = UInt64(limit.rlim_cur) }
        return m
    }

    /// Seconds since the epoch when the machine booted (`btime` in /proc/stat).
    private static func bootTime() -> Double {
        guard let stat = readFile("/proc/stat") else { return 0 }
        for line in stat.split(separator: "\n") where line.hasPrefix("btime ") {
            return Double(line.dropFirst(6)) ?? 0
        }
        return 0
    }

    private static func readFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = Glibc.read(fd, &chunk, chunk.count)
            if n <= 0 { break }
            bytes += chunk[..<n]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func countEntries(_ path: String) -> UInt64 {
        guard let dir = opendir(path) else { return 0 }
        defer { closedir(dir) }
        var count: UInt64 = 0
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) {
                String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { count += 1 }
        }
        // The directory stream itself holds one descriptor while it is counted.
        return count > 0 ? count - 1 : 0
    }
}
