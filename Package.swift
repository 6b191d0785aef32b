// swift-tools-version: 6.2
import PackageDescription

let settings: [SwiftSetting] = [.enableUpcomingFeature("ExistentialAny")]

let package = Package(
  name: "cleave",
  platforms: [.macOS(.v15)],
  products: [
    .executable(name: "cleave", targets: ["cleave"]),
    .library(name: "CleaveCLI", targets: ["CleaveCLI"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
    .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
    .package(url: "https://github.com/swiftlang/swift-subprocess", from: "1.0.0"),
    .package(url: "https://github.com/apple/swift-crypto", from: "3.0.0"),
  ],
  targets: [
    // C libraries, from Debian's libpq-dev and libpg-query-dev.
    .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
    .systemLibrary(name: "CPgQuery", providers: [.apt(["libpg-query-dev"])]),

    // Libraries, one per stage; dependencies point downward only.
    .target(
      name: "CleaveCore", dependencies: [.product(name: "Logging", package: "swift-log")], swiftSettings: settings),
    .target(name: "PostgresDriver", dependencies: ["CLibPQ", "CleaveCore"], swiftSettings: settings),
    .target(name: "Catalog", dependencies: ["PostgresDriver"], swiftSettings: settings),
    .target(name: "SQLParser", dependencies: ["CPgQuery", "CleaveCore"], swiftSettings: settings),
    .target(
      name: "Plan",
      dependencies: ["Catalog", "SQLParser", .product(name: "Yams", package: "Yams")],
      swiftSettings: settings),
    // PostgreSQL's own programs (pg_dump, pg_restore), exported snapshots and pinned session settings, which
    // copy, verify, backup and migrate all use.
    .target(
      name: "PostgresTools",
      dependencies: ["PostgresDriver", .product(name: "Subprocess", package: "swift-subprocess")],
      swiftSettings: settings),
    .target(name: "Provision", dependencies: ["Plan"], swiftSettings: settings),
    .target(name: "Copy", dependencies: ["Provision", "PostgresTools"], swiftSettings: settings),
    .target(
      name: "Verify",
      dependencies: ["Provision", "PostgresTools", .product(name: "Crypto", package: "swift-crypto")],
      swiftSettings: settings),
    .target(name: "Config", dependencies: ["Provision"], swiftSettings: settings),
    .target(name: "Freeze", dependencies: ["Plan"], swiftSettings: settings),
    .target(name: "Online", dependencies: ["Copy", "Verify", "Rollback"], swiftSettings: settings),
    .target(
      name: "Migrate",
      dependencies: ["Verify", "PostgresTools", "SQLParser", .product(name: "Crypto", package: "swift-crypto")],
      swiftSettings: settings),
    .target(name: "Rollback", dependencies: ["Freeze", "Provision"], swiftSettings: settings),
    .target(
      name: "Pipeline", dependencies: ["Backup", "Config", "Copy", "Verify", "Freeze", "Rollback"],
      swiftSettings: settings),
    .target(
      name: "Backup", dependencies: ["Plan", "PostgresTools", .product(name: "Crypto", package: "swift-crypto")],
      swiftSettings: settings),
    .target(
      name: "Report", dependencies: ["Plan", "Provision", "Copy", "Verify", "Backup", "Freeze", "Pipeline", "Migrate"],
      swiftSettings: settings),
    .target(
      name: "CleaveCLI",
      dependencies: [
        "Report", "Copy", "Config", "Backup", "Freeze", "Rollback", "Pipeline", "Online",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ],
      swiftSettings: settings),
    .executableTarget(name: "cleave", dependencies: ["CleaveCLI"], swiftSettings: settings),

    // The throwaway PostgreSQL clusters that tests and the demo run against.
    .target(
      name: "CleaveTestSupport",
      dependencies: ["PostgresDriver", .product(name: "Subprocess", package: "swift-subprocess")],
      swiftSettings: settings),
    .executableTarget(name: "cleave-demo", dependencies: ["CleaveCLI", "CleaveTestSupport"], swiftSettings: settings),

    .testTarget(
      name: "DriverTests", dependencies: ["PostgresDriver", "PostgresTools", "CleaveTestSupport"],
      swiftSettings: settings),
    .testTarget(name: "CatalogTests", dependencies: ["Catalog", "CleaveTestSupport"], swiftSettings: settings),
    .testTarget(name: "SQLParserTests", dependencies: ["SQLParser"], swiftSettings: settings),
    .testTarget(name: "PlanTests", dependencies: ["Plan", "CleaveTestSupport"], swiftSettings: settings),
    .testTarget(name: "CopyTests", dependencies: ["Copy", "CleaveTestSupport"], swiftSettings: settings),
    .testTarget(
      name: "VerifyTests", dependencies: ["Verify", "Copy", "Catalog", "CleaveTestSupport"], swiftSettings: settings),
    .testTarget(
      name: "ConfigTests", dependencies: ["Config", "CleaveTestSupport", .product(name: "Yams", package: "Yams")],
      swiftSettings: settings),
    .testTarget(name: "BackupTests", dependencies: ["Backup", "CleaveTestSupport"], swiftSettings: settings),
    .testTarget(
      name: "SafetyTests", dependencies: ["Freeze", "Copy", "Pipeline", "CleaveTestSupport"], swiftSettings: settings),
    .testTarget(name: "MigrateTests", dependencies: ["Migrate", "CleaveTestSupport"], swiftSettings: settings),
    .testTarget(name: "CLITests", dependencies: ["CleaveCLI", "CleaveTestSupport"], swiftSettings: settings),
  ]
)
