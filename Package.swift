// swift-tools-version: 6.1
import PackageDescription

/// One settings list for every target (STYLE.md, convention 2).
let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "KeyLedger",
    products: [
        .executable(name: "keyledger", targets: ["keyledger"])
    ],
    targets: [
        .systemLibrary(
            name: "CLMDB", pkgConfig: "lmdb",
            providers: [.apt(["liblmdb-dev"])]),
        .systemLibrary(
            name: "CCrypto", pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]),
        .systemLibrary(
            name: "CCurl", pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]),
        .target(name: "CSystem"),
        .target(name: "Store", dependencies: ["CLMDB", "CSystem"], swiftSettings: swiftSettings),
        .target(name: "JSON", swiftSettings: swiftSettings),
        .target(name: "Logging", dependencies: ["JSON"], swiftSettings: swiftSettings),
        .target(name: "Events", dependencies: ["CCrypto", "JSON"], swiftSettings: swiftSettings),
        .target(
            name: "Projections", dependencies: ["Store", "Events"], path: "Projections",
            swiftSettings: swiftSettings),
        .target(
            name: "Ledger", dependencies: ["Store", "Events", "Projections", "Logging", "CSystem"],
            swiftSettings: swiftSettings),
        .target(name: "HTTP", dependencies: ["CSystem"], swiftSettings: swiftSettings),
        .target(name: "Outbound", dependencies: ["CCurl"], swiftSettings: swiftSettings),
        .target(
            name: "Notify",
            dependencies: ["Outbound", "Ledger", "Projections", "Store", "Events", "JSON", "Logging", "CSystem"],
            swiftSettings: swiftSettings),
        .target(
            name: "Rendering", dependencies: ["Ledger", "Projections", "Events", "JSON"],
            swiftSettings: swiftSettings),
        .target(
            name: "Server",
            dependencies: ["HTTP", "Ledger", "Rendering", "Projections", "JSON", "Events", "Logging", "Notify"],
            swiftSettings: swiftSettings),
        .executableTarget(
            name: "keyledger",
            dependencies: [
                "Server", "Rendering", "HTTP", "Ledger", "Projections", "Events", "Store", "JSON", "Logging", "Notify",
                "CSystem",
            ],
            path: "tools/keyledger", swiftSettings: swiftSettings,
            // The Swift runtime linked in statically: release binaries start faster and need
            // no Swift runtime on the machine they run on (docs/performance.md has figures).
            linkerSettings: [.unsafeFlags(["-static-stdlib"], .when(platforms: [.linux], configuration: .release))]),
        .testTarget(name: "StoreTests", dependencies: ["Store", "Events"], swiftSettings: swiftSettings),
        .testTarget(name: "JSONTests", dependencies: ["JSON", "Events"], swiftSettings: swiftSettings),
        .testTarget(name: "EventsTests", dependencies: ["Events"], swiftSettings: swiftSettings),
        .testTarget(
            name: "LedgerTests", dependencies: ["Ledger", "Projections", "Events", "Store", "CLMDB"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "ServerTests",
            dependencies: ["Server", "Rendering", "HTTP", "Ledger", "Events", "JSON", "Store", "Notify", "Projections"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "NotifyTests", dependencies: ["Notify", "Outbound", "Ledger", "Projections", "Events", "JSON", "Store"],
            swiftSettings: swiftSettings),
        .testTarget(name: "HTTPTests", dependencies: ["HTTP", "CSystem", "Events"], swiftSettings: swiftSettings),
        .testTarget(name: "CLITests", dependencies: ["keyledger"], swiftSettings: swiftSettings),
        .testTarget(name: "LoggingTests", dependencies: ["Logging", "JSON"], swiftSettings: swiftSettings),
    ]
)
