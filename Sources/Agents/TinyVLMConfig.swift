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
        guard (1...4096).contains(imageSide), downsample >= 1, patch >= 1, imageSide % (downsample * patch) == 0 else {
            throw AgentError.badCheckpoint("image side \(imageSide) is not a multiple of downsample·patch = \(downsample * patch)")
        }
        guard t.dModel > 0, t.heads > 0, t.dModel % t.heads == 0, (t.dModel / t.heads) % 2 == 0, t.layers > 0,
              t.kvHeads > 0, t.heads % t.kvHeads == 0, (1...65_536).contains(t.ffnHidden), (1...65_536).contains(valueHidden),
              t.vocabSize > 260, t.vocabSize <= 1 << 20, t.dModel <= 8192, t.layers <= 64 else {
            throw AgentError.badCheckpoint("implausible transformer shape \(t)")
        }
        guard t.maxSequence > patchCount + 2, t.maxSequence <= 1 << 20 else {
            throw AgentError.badCheckpoint("context \(t.maxSequence) cannot hold \(patchCount) visual tokens and a prompt")
        }
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
