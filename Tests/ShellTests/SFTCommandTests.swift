import Foundation
import Testing
@testable import Shell

/// `sft out=`: checked before training, and never overwritten by a run that Ctrl-C stopped. Serialized: the
/// interrupt flag is process-global.
@Suite(.serialized) struct SFTCommandTests {
    static let small = "sft env=numberline steps=48 epochs=1 batch=8 d_model=32 layers=1 held_out=4 merges=60"

    @Test func anUnwritableOutFailsBeforeTraining() throws {
        let dir = tempDir()
        let sh = makeShell(dir, logging: false)
        sh.autoLoadDefault = false
        defer { sh.close() }
        try Data("not a directory".utf8).write(to: dir.appendingPathComponent("blocker"))
        #expect(!sh.execute(Self.small + " out=blocker/agent"))
        let o = sh.lastOutput
        #expect(o.contains("out=blocker/agent") && o.contains("nothing trained"), "\(o)")
        #expect(!o.contains("loss curve") && !o.contains("collecting"))
        #expect(o.split(separator: "\n").count == 1)
        #expect(!sh.execute(Self.small + " out=blocker"))
        #expect(sh.lastOutput.contains("is a file"))
        #expect(!sh.execute("model info"))  // nothing was trained, so nothing is loaded
    }

    @Test func ctrlCKeepsTheHalfTrainedModelLoadedAndSavesNothing() throws {
        let dir = tempDir()
        let sh = makeShell(dir, logging: false)
        sh.autoLoadDefault = false
        defer { sh.close(); Interrupt.clear() }
        // a checkpoint already at out=: its bytes must survive the interrupted run
        let out = dir.appendingPathComponent("agent")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        try Data("{\"kind\": \"sentinel\"}".utf8).write(to: out.appendingPathComponent("config.json"))
        try Data("sentinel weights".utf8).write(to: out.appendingPathComponent("model.safetensors"))
        sh.agent.onTrainingStep = { if $0 == 2 { Interrupt.raise() } }
        #expect(!sh.execute(Self.small + " out=agent"))
        let o = sh.lastOutput
        #expect(o.contains("loss curve:") && o.contains("over 2 steps"), "\(o)")
        #expect(o.contains("interrupted after 2 of 6 optimizer steps") && o.contains("not saved") && o.contains("out=agent left as it was"))
        #expect(!o.contains("held-out:") && !o.contains("saved \(out.path)"))
        #expect(!Interrupt.pending)
        #expect(try String(contentsOf: out.appendingPathComponent("config.json"), encoding: .utf8) == "{\"kind\": \"sentinel\"}")
        #expect(try String(contentsOf: out.appendingPathComponent("model.safetensors"), encoding: .utf8) == "sentinel weights")
        // the half-trained model is the shell's agent, marked as such, and can still be saved elsewhere
        #expect(sh.execute("model info"))
        #expect(sh.lastOutput.contains("from sft (interrupted, not saved)") && sh.lastOutput.contains("trained:   interrupted = after 2 of 6"))
        #expect(sh.execute("model save kept"))
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("kept/model.safetensors").path))

        // out=default: the default agent's cache is neither written nor left behind as an empty directory
        sh.agent.onTrainingStep = { if $0 == 1 { Interrupt.raise() } }
        #expect(!sh.execute(Self.small + " out=default"))
        #expect(sh.lastOutput.contains("interrupted after 1 of 6"))
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("models").path))

        // an uninterrupted run saves and loads as before
        sh.agent.onTrainingStep = nil
        #expect(sh.execute(Self.small + " out=agent"))
        #expect(sh.lastOutput.contains("held-out: valid JSON") && sh.lastOutput.contains("saved \(out.path)"))
        #expect(try Data(contentsOf: out.appendingPathComponent("model.safetensors")) != Data("sentinel weights".utf8))
        #expect(sh.execute("model load agent"))
    }
}

/// `think`, `step`, `auto` and `eval` refuse the same way when the prompt and max_tokens do not fit the context.
@Suite(.serialized) struct ContextCheckTests {
    @Test func everyAgentCommandRefusesWithTheSameLine() throws {
        let dir = tempDir()
        let sh = makeShell(dir, logging: false)
        sh.autoLoadDefault = false
        defer { sh.close() }
        #expect(sh.execute("model load \(tinyAgentDir.path)"))
        #expect(sh.execute("env numberline seed=1"))
        #expect(sh.execute("agent max_tokens=4096"))
        for cmd in ["think", "step", "auto episodes=1 seed=0", "eval episodes=2 seed=0"] {
            #expect(!sh.execute(cmd), "\(cmd)")
            let o = sh.lastOutput.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(o.contains("4096 answer tokens are asked for; the model reads at most") && o.contains("would fit"), "\(cmd): \(o)")
            // the error is the command's last line (`auto` has already reset the env for its first episode)
            #expect(o.split(separator: "\n").last?.contains("\(cmd.split(separator: " ")[0]): the prompt is") == true, "\(cmd): \(o)")
        }
        #expect(sh.execute("expect $step == 0"))
        #expect(sh.execute("agent max_tokens=64"))
        #expect(sh.execute("think"))
    }
}
