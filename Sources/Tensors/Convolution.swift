/// 2-D convolution by im2col + GEMM (the patch embedding of the VLM is the case kernel = stride).
extension Tensor {
    /// x: (N, C, H, W), weight: (O, C, KH, KW), bias: (O) → (N, O, OH, OW).
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func conv2d(weight: Tensor, bias: Tensor?, stride st: Int = 1, padding pad: Int = 0) -> Tensor {
        precondition(rank == 4 && weight.rank == 4 && weight.shape[1] == shape[1], "conv2d: x \(shape), weight \(weight.shape)")
        let n = shape[0], c = shape[1], h = shape[2], w = shape[3]
        let o = weight.shape[0], kh = weight.shape[2], kw = weight.shape[3]
        let oh = (h + 2 * pad - kh) / st + 1, ow = (w + 2 * pad - kw) / st + 1
        precondition(oh > 0 && ow > 0, "conv2d: kernel larger than padded input")
        let ckk = c * kh * kw, ohw = oh * ow
        let x = contiguousNoGrad(), wt = weight.contiguousNoGrad()
        let cols = Tensor(uninitialized: [n, ckk, ohw])
        // im2col: cols[n][(ci, ki, kj)][(y, x)] = x[n][ci][y·st + ki − pad][x·st + kj − pad] (0 outside)
        func forEachTap(_ body: (Int, Int, Int) -> Void) {  // (col index, image index or −1)
            for ci in 0..<c { for ki in 0..<kh { for kj in 0..<kw {
                let r = (ci * kh + ki) * kw + kj
                for yy in 0..<oh {
                    let iy = yy * st + ki - pad
                    for xx in 0..<ow {
                        let ix = xx * st + kj - pad
                        body(r * ohw + yy * ow + xx, (iy < 0 || iy >= h || ix < 0 || ix >= w) ? -1 : (ci * h + iy) * w + ix, 0)
                    }
                }
            } } }
        }
        for b in 0..<n {
            let col = cols.pointer + b * ckk * ohw, img = x.pointer + b * c * h * w
            forEachTap { ci, ii, _ in col[ci] = ii < 0 ? 0 : img[ii] }
        }
        let out = Tensor(uninitialized: [n, o, oh, ow])
        for b in 0..<n {
            S.gemm(transA: false, transB: false, m: o, n: ohw, k: ckk, alpha: 1, a: wt.pointer, lda: ckk,
                   b: cols.pointer + b * ckk * ohw, ldb: ohw, beta: 0, c: out.pointer + b * o * ohw, ldc: ohw)
            if let bias {
                let bv = bias.contiguousNoGrad()
                for oc in 0..<o { let p = out.pointer + (b * o + oc) * ohw; for i in 0..<ohw { p[i] += bv.pointer[oc] } }
            }
        }
        let inputs = bias.map { [self, weight, $0] } ?? [self, weight]
        return out.record("conv2d", inputs) { g in
            let gw = Tensor.zeros([o, ckk]), gx = Tensor.zeros(self.shape)
            let dcol = Tensor(uninitialized: [ckk, ohw])
            for b in 0..<n {
                let gb = g.pointer + b * o * ohw
                // out = W·cols  →  dW += g·colsᵀ ; dcols = Wᵀ·g, then col2im adds taps back into the image
                S.gemm(transA: false, transB: true, m: o, n: ckk, k: ohw, alpha: 1, a: gb, lda: ohw,
                       b: cols.pointer + b * ckk * ohw, ldb: ohw, beta: 1, c: gw.pointer, ldc: ckk)
                if self.needsGrad {
                    S.gemm(transA: true, transB: false, m: ckk, n: ohw, k: o, alpha: 1, a: wt.pointer, lda: ckk,
                           b: gb, ldb: ohw, beta: 0, c: dcol.pointer, ldc: ohw)
                    let img = gx.pointer + b * c * h * w
                    forEachTap { ci, ii, _ in if ii >= 0 { img[ii] += dcol.pointer[ci] } }
                }
            }
            self.accumulateGrad(gx)
            weight.accumulateGrad(gw.reshapeNoGrad(weight.shape))
            if let bias { bias.accumulateGrad(g.sum(axes: [0, 2, 3]).detached()) }
        }
    }

    /// Inverted dropout: zeroes each element with probability p and scales the rest by 1/(1−p), so evaluation
    /// (training = false, or p = 0) is the identity.
    public func dropout(_ p: Double, training: Bool, rng: inout TensorRNG) -> Tensor {
        guard training && p > 0 else { return self }
        precondition(p < 1, "dropout probability must be below 1")
        let keep = S(1 / (1 - p))
        let mask = Tensor(uninitialized: shape)
        for i in 0..<count { mask.pointer[i] = rng.unit() < p ? 0 : keep }
        return self * mask
    }
}
