import Foundation
import Testing
@testable import Shell

/// SmolLM2 in the shell: `model load smollm2` finds the cached GGUF (no download), a text-only model turns
/// episodes to `observation=text` (shown by `show prompt`, logged with the episode's options), and it thinks.
@Suite(.serialized, .enabled(if: FileManager.default.fileExists(atPath: repoRoot.appendingPathComponent("models/SmolLM2-135M-Instruct.Q4_1.gguf").path),
                             "models/SmolLM2-135M-Instruct.Q4_1.gguf is absent: run `make model`"))
struct LlamaShellTests {
    @Test func smollm2LoadsByNameAndPlaysInTextMode() throws {
        let home = tempDir()
        let script = """
            env points24 seed=3
            model load smollm2
            show prompt
            env points24 seed=4
            agent greedy=true max_tokens=12
            think
            model info
            env points24 seed=5 observation=image
            sql select episode, options from episodes order by episode
            model load \(home.path)/none.gguf
            model connect url=ftp://x model=m
            model load smollm2 url=x
            """
        let r = try runGTR([], input: script + "\n", home: home)
        #expect(r.stdout.contains("loaded smollm2: SmolLM2-135M-Instruct.Q4_1: llama, 30 layers, d 576"), "\(r.stdout.prefix(800)) \(r.stderr)")
        #expect(!r.stdout.contains("fetching"))
        #expect(r.stdout.contains("the current episode switched to it"))
        #expect(r.stdout.contains("(observation=text: the state in words; no frame)") && r.stdout.contains("four cards: 'Q', '5', '2', 'K'."))
        #expect(r.stdout.contains("output:   ") && r.stdout.contains("log-prob: λ·thought + action"))
        #expect(r.stdout.contains("kind:      llama-gguf"))
        // episode 2 took observation=text from the model; episode 3 chose image explicitly
        #expect(r.stdout.contains("2 | observation=text\n3 | observation=image"), "\(r.stdout)")
        let errors = r.stderr.split(separator: "\n")
        #expect(errors.contains { $0.contains("none.gguf does not exist") })
        #expect(errors.contains { $0.contains("url=ftp://x: expected http(s)://host[:port]/path") })
        #expect(errors.contains { $0.contains("belong to model connect") })
    }
}
