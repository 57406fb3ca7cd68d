import Foundation
import Tensors

/// Shape of the tiny vision-language policy. Stored in a checkpoint's `config.json` next to the tokenizer.
public struct TinyVLMConfig: Codable, Sendable, Equatable {
    /// The decoder. Positions must be RoPE: batched generation left-pads prompts, and relative positions make a
    /// padded row compute exactly what it would alone.
    public var transformer: TransformerConfig
    /// Side of the square observation (gym-cards frames are 300×300).
    public var imageSide = 300
    /// Average-pool factor applied before patching (300 → 150 keeps the 5×7 rank glyphs legible).
    public var downsample = 2
    /// Patch side after pooling (150 / 25 = 6×6 = 36 visual tokens).
    public var patch = 25
    /// Hidden width of the value head MLP.
    public var valueHidden = 64

    public init(transformer: TransformerConfig, imageSide: Int = 300, downsample: Int = 2, patch: Int = 25, valueHidden: Int = 64) {
        self.transformer = transformer; self.imageSide = imageSide; self.downsample = downsample; self.patch = patch
        self.valueHidden = valueHidden
    }

    public var patchesPerSide: Int { imageSide / downsample / patch }
    public var patchCount: Int { patchesPerSide * patchesPerSide }
    public var patchDim: Int { patch * patch * 3 }

    /// The default agent: d=128, 4 layers, 4 heads, SwiGLU, RMSNorm, RoPE, tied embeddings.
    public static func small(vocabSize: Int) -> TinyVLMConfig {
        var t = TransformerConfig(vocabSize: vocabSize, dModel: 128, layers: 4, heads: 4, ffnHidden: 384, maxSequence: 1024)
        t.norm = .rms; t.activation = .swiglu; t.positions = .rope; t.bias = false; t.tieEmbeddings = true
        return TinyVLMConfig(transformer: t)
    }

    /// Rejects shapes a damaged or hand-edited config.json could hold before anything is allocated.
    func validate() throws {
        let t = transformer
        guard t.positions == .rope else { throw AgentError.badCheckpoint("the tiny VLM needs RoPE positions") }
        guard (1...4096).contains(imageSide), (1...imageSide).contains(downsample), (1...imageSide).contains(patch),
              imageSide % (downsample * patch) == 0 else {
            throw AgentError.badCheckpoint("imageSide \(imageSide), downsample \(downsample), patch \(patch): imageSide must be at most 4096 and a multiple of downsample·patch")
        }
        func bad(_ m: String) -> AgentError { .badCheckpoint(m) }
        guard (1...8192).contains(t.dModel) else { throw bad("dModel \(t.dModel) is not in 1…8192") }
        guard (1...t.dModel).contains(t.heads), t.dModel % t.heads == 0, (t.dModel / t.heads) % 2 == 0 else {
            throw bad("heads \(t.heads) must divide dModel \(t.dModel) into heads of even width")
        }
        guard (1...t.heads).contains(t.kvHeads), t.heads % t.kvHeads == 0 else { throw bad("kvHeads \(t.kvHeads) must divide heads \(t.heads)") }
        guard (1...64).contains(t.layers) else { throw bad("layers \(t.layers) is not in 1…64") }
        guard (1...65_536).contains(t.ffnHidden) else { throw bad("ffnHidden \(t.ffnHidden) is not in 1…65536") }
        guard (1...65_536).contains(valueHidden) else { throw bad("valueHidden \(valueHidden) is not in 1…65536") }
        guard (261...(1 << 20)).contains(t.vocabSize) else { throw bad("vocabSize \(t.vocabSize) is not in 261…1048576") }
        guard t.maxSequence > patchCount + 2, t.maxSequence <= 1 << 20 else {
            throw AgentError.badCheckpoint("maxSequence \(t.maxSequence) cannot hold \(patchCount) visual tokens (imageSide \(imageSide) / downsample \(downsample) / patch \(patch), squared) and a prompt")
        }
        // A normal float: a subnormal one reads as 0 on threads with flush-to-zero set (gtr's workers), so the
        // same file would load or not depending on the thread.
        guard t.normEps.isFinite, t.normEps >= Float.leastNormalMagnitude, t.normEps < 1 else {
            throw AgentError.badCheckpoint("normEps \(t.normEps) is not a small positive number (1.2e-38 … 1)")
        }
        guard t.ropeBase.isFinite, t.ropeBase > 1, t.ropeBase <= 1e9 else {
            throw AgentError.badCheckpoint("ropeBase \(t.ropeBase) is not in 1…1e9")
        }
        // Every other field is bounded above, so this product cannot overflow; it keeps a damaged file from asking for
        // gigabytes before a single weight is read.
        let d = t.dModel, perLayer = 4 * d * d + 3 * d * t.ffnHidden
        let estimate = t.vocabSize * d + t.layers * perLayer + patchDim * d + patchCount * d + d * valueHidden
        guard estimate <= 256_000_000 else {
            throw AgentError.badCheckpoint("the shape asks for about \(estimate / 1_000_000) M parameters (at most 256 M)")
        }
        guard patchCount * patchDim <= 64_000_000 else { throw AgentError.badCheckpoint("imageSide \(imageSide) and patch \(patch) are too large") }
    }
}


/// What `config.json` of a checkpoint holds.
public struct TinyVLMCheckpointConfig: Codable {
    public var kind = "tiny-vlm"
    public var model: TinyVLMConfig
    public var tokenizer: BPETokenizer
    /// How the checkpoint was made (command, data, metrics), free-form.
    public var training: [String: String]
}
