// swift-tools-version: 6.0
import Foundation
import PackageDescription

// The tensor core's loops are compiled for the build machine's vector unit when it has AVX2 and FMA (as
// llama.cpp's GGML_NATIVE does): 8-wide float lanes instead of baseline x86-64's 4. Swift never contracts a·b + c
// into an FMA by itself, so results are the same bits either way. `GTR_PORTABLE=1 swift build` opts out; the gtr
// executable checks the CPU at start-up and says so in one line if a binary built here runs where AVX2 is missing.
let cpuInfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
let cpuFlags = Set(cpuInfo.split(separator: "\n").first { $0.hasPrefix("flags") }?.split(separator: " ").map(String.init) ?? [])
let native = ProcessInfo.processInfo.environment["GTR_PORTABLE"] == nil && cpuFlags.isSuperset(of: ["avx2", "fma"])
let vectorUnit: [SwiftSetting] = native ? [.unsafeFlags(["-target-cpu", "haswell"]), .define("GTR_AVX2")] : []

// Dependencies point one way only (each arrow is an import in the sources; the README's layout section lists them):
//   gtr → Shell → Training → Agents → Tensors → CBLAS
//   Shell, Training → Correctors → Environments → Support → CCurl, CZlib (frames as PNG)
//   Shell, Training → Episodes → Environments
//   Shell → SessionLog → CSQLite (a plain store, written through the EpisodeSink protocol)
// Agents know no game: the layer above turns an environment's state into an agent's input.
let package = Package(
    name: "gtr",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "gtr", targets: ["gtr"]),
        // The environment server (`gtr serve` runs it): its own product, so `make run` never builds SwiftNIO.
        .executable(name: "gtr-serve", targets: ["gtr-serve"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.20.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket", from: "2.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.60.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.0.0"),
    ],
    targets: [
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CEditLine", pkgConfig: "libedit", providers: [.apt(["libedit-dev"])]),
        .systemLibrary(name: "CSQLite", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .target(name: "CPty", path: "Sources/CPty"),
        // The pre-filled line editor (`thought edit`, the human corrector): native libedit, one C file.
        .target(name: "CLineEditor", path: "Sources/CLineEditor", linkerSettings: [.linkedLibrary("edit")]),

        .target(name: "Tensors", dependencies: ["CBLAS"], swiftSettings: vectorUnit),
        // The shipped default agent (made by `gtr sft env=points24 steps=8000 epochs=4 seed=1`).
        .target(name: "Agents", dependencies: ["Tensors", "Support"], resources: [.copy("DefaultAgent")]),
        .target(name: "SessionLog", dependencies: ["CSQLite"]),
        .target(name: "Training", dependencies: ["Agents", "Correctors", "Episodes", "Environments", "Support", "Tensors"]),
        .target(name: "Support", dependencies: ["CCurl", "CZlib"]),
        .target(name: "Environments", dependencies: ["Support"]),
        .target(name: "Correctors", dependencies: ["Environments", "Support"]),
        // One played episode (apply, undo, records) over any environment; logging goes through `EpisodeSink`.
        .target(name: "Episodes", dependencies: ["Environments", "Support"]),
        .target(name: "Shell", dependencies: [
            "Training", "Agents", "Tensors", "Correctors", "Episodes", "Environments", "Support", "SessionLog", "CEditLine", "CLineEditor",
        ]),
        .executableTarget(name: "gtr", dependencies: [
            "Shell", "Tensors",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // OpenEnv's protocol over HTTP and WebSocket: gtr's environments, oracle corrector and experts as a service.
        .target(name: "Serving", dependencies: [
            "Episodes", "Environments", "Correctors", "SessionLog", "Support",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
        ]),
        .executableTarget(name: "gtr-serve", dependencies: ["Serving"]),
        .executableTarget(name: "gtr-bench", dependencies: ["Shell", "Environments", "Support", "SessionLog", "Tensors", "Agents",
                                                            "Training", "Correctors", "LoopbackHTTP"],
                          path: "Benchmarks/gtr-bench"),
        // A scripted HTTP/1.1 server on 127.0.0.1 for the chat-corrector tests and benchmarks (never shipped in gtr).
        .target(name: "LoopbackHTTP", dependencies: ["Support"], path: "Tests/LoopbackHTTP"),

        // SupportTests read PNGs back with zlib's inflate, among them real game frames.
        .testTarget(name: "SupportTests", dependencies: ["Support", "CZlib", "Environments"]),
        .testTarget(name: "EnvironmentsTests", dependencies: ["Environments", "Support"]),
        .testTarget(name: "EpisodesTests", dependencies: ["Episodes", "Environments"]),
        // AgentsTests build their inputs from games, through Training's `AgentInput.from(env)`.
        .testTarget(name: "AgentsTests", dependencies: ["Agents", "Environments", "Support", "Tensors", "Training", "LoopbackHTTP"], exclude: ["Fixtures"]),
        .testTarget(name: "TrainingTests", dependencies: ["Training", "Agents", "Correctors", "Environments", "Support", "Tensors"], exclude: ["Fixtures"]),
        .testTarget(name: "SessionLogTests", dependencies: ["SessionLog"]),
        .testTarget(name: "CorrectorsTests", dependencies: ["Correctors", "Environments", "Support", "LoopbackHTTP"]),
        .testTarget(name: "ShellTests", dependencies: ["Shell", "Environments", "Support", "SessionLog", "Training", "CPty", "LoopbackHTTP"],
                    exclude: ["Fixtures"]),
        .testTarget(name: "TensorsTests", dependencies: ["Tensors"], exclude: ["Fixtures"]),
        .testTarget(name: "ServingTests", dependencies: ["Serving", "Shell", "Environments", "Episodes", "Support", "SessionLog"]),
    ]
)
