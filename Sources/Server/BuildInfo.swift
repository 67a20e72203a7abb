/// What this binary is, for `keyledger --version` and `keyledger_build_info`.
public enum BuildInfo {
    /// The release this source tree is; raised with each release.
    public static let version = "0.6.0"
    /// The Swift compiler that built it.
    public static let swiftVersion: String = {
        #if compiler(>=6.4)
            "6.4+"
        #elseif compiler(>=6.3)
            "6.3"
        #elseif compiler(>=6.2)
            "6.2"
        #else
            "6.1"
        #endif
    }()
}
