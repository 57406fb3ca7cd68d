// swift-tools-version: 6.0
import PackageDescription

// Dependencies point one way only (left depends on right):
//   gtr → Shell → Training → Agents → Tensors → CBLAS
//   Shell → Correctors → Environments
//   Shell, Training → SessionLog → CSQLite
let package = Package(
    name: "gtr",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "gtr", targets: ["gtr"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CEditLine", pkgConfig: "libedit", providers: [.apt(["libedit-dev"])]),
        .systemLibrary(name: "CSQLite", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .target(name: "CPty", path: "Sources/CPty"),
        // The pre-filled line editor (`thought edit`, the human corrector): native libedit, one C file.
        .target(name: "CLineEditor", path: "Sources/CLineEditor", linkerSettings: [.linkedLibrary("edit")]),

        .target(name: "Tensors", dependencies: ["CBLAS"]),
        // The shipped default agent (made by `gtr sft env=points24 steps=8000 epochs=4 seed=1`).
        .target(name: "Agents", dependencies: ["Tensors", "Environments"], resources: [.copy("DefaultAgent")]),
        .target(name: "SessionLog", dependencies: ["CSQLite"]),
        .target(name: "Training", dependencies: ["Agents", "SessionLog", "Environments"]),
        .target(name: "Environments"),
        .target(name: "Correctors", dependencies: ["Environments", "CCurl"]),
        // One played episode (apply, undo, records) over any environment; logging goes through `EpisodeSink`.
        .target(name: "Episodes", dependencies: ["Environments"]),
        .target(name: "Shell", dependencies: [
            "Training", "Agents", "Tensors", "Correctors", "Episodes", "Environments", "SessionLog", "CEditLine", "CLineEditor",
        ]),
        .executableTarget(name: "gtr", dependencies: [
            "Shell", "Tensors",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "gtr-bench", dependencies: ["Shell", "Environments", "SessionLog", "Tensors", "Agents", "Training",
                                                            "Correctors", "LoopbackHTTP"],
                          path: "Benchmarks/gtr-bench"),
        // A scripted HTTP/1.1 server on 127.0.0.1 for the chat-corrector tests and benchmarks (never shipped in gtr).
        .target(name: "LoopbackHTTP", dependencies: ["Environments"], path: "Tests/LoopbackHTTP"),

        .testTarget(name: "EnvironmentsTests", dependencies: ["Environments"]),
        .testTarget(name: "EpisodesTests", dependencies: ["Episodes", "Environments"]),
        .testTarget(name: "AgentsTests", dependencies: ["Agents", "Environments", "Tensors"]),
        .testTarget(name: "TrainingTests", dependencies: ["Training", "Agents", "Environments"], exclude: ["Fixtures"]),
        .testTarget(name: "SessionLogTests", dependencies: ["SessionLog"]),
        .testTarget(name: "CorrectorsTests", dependencies: ["Correctors", "Environments", "LoopbackHTTP"]),
        .testTarget(name: "ShellTests", dependencies: ["Shell", "Environments", "SessionLog", "CPty", "LoopbackHTTP"], exclude: ["Fixtures"]),
        .testTarget(name: "TensorsTests", dependencies: ["Tensors"], exclude: ["Fixtures"]),
    ]
)
