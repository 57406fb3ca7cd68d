/// Broadcasting binary ops, scalar ops and the pointwise nonlinearities, each with its gradient rule.
extension Tensor {
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    func binaryOp(_ op: BinaryOp, _ other: Tensor) -> Tensor {
        guard let shape = Strided.broadcast(self.shape, other.shape) else {
            preconditionFailure("cannot broadcast \(self.shape) with \(other.shape)")
        }
        let out = Tensor(uninitialized: shape)
        Kernels.binary(op, self, other, out)
        let a = self, b = other
        let y = out.detached()  // the closure must not hold `out` itself (out → node → closure → out)
        return out.record("\(op)", [a, b]) { g in
            switch op {
            case .add:
                a.accumulateGrad(g.sumTo(a.shape)); b.accumulateGrad(g.sumTo(b.shape))
            case .sub:
                a.accumulateGrad(g.sumTo(a.shape)); if b.needsGrad { b.accumulateGrad(g.mulNoGrad(-1).sumTo(b.shape)) }
            case .mul:
                // out = a * b  →  da = g * b, db = g * a
                if a.needsGrad { a.accumulateGrad(g.binaryNoGrad(.mul, b).sumTo(a.shape)) }
                if b.needsGrad { b.accumulateGrad(g.binaryNoGrad(.mul, a).sumTo(b.shape)) }
            case .div:
                // out = a / b  →  da = g / b, db = −g · a / b²
                if a.needsGrad { a.accumulateGrad(g.binaryNoGrad(.div, b).sumTo(a.shape)) }
                if b.needsGrad { b.accumulateGrad(g.binaryNoGrad(.mul, y).binaryNoGrad(.div, b).mulNoGrad(-1).sumTo(b.shape)) }
            case .min, .max:
                // The gradient goes to the selected input; ties go to `a` (matches the forward's `<=`/`>=`).
                let pickA = Tensor(uninitialized: y.shape)
                Kernels.binary(op == .min ? .min : .max, a, b, pickA)
                let ga = Tensor(uninitialized: y.shape), gb = Tensor(uninitialized: y.shape)
                let av = a.expandNoGrad(y.shape).contiguousNoGrad()
                for i in 0..<y.count {
                    let takeA = av.pointer[i] == pickA.pointer[i]
                    ga.pointer[i] = takeA ? g.pointer[i] : 0
                    gb.pointer[i] = takeA ? 0 : g.pointer[i]
                }
                a.accumulateGrad(ga.sumTo(a.shape)); b.accumulateGrad(gb.sumTo(b.shape))
            }
        }
    }

    @_specialize(where S == Float)
    @_specialize(where S == Double)
    func binaryNoGrad(_ op: BinaryOp, _ other: Tensor) -> Tensor {
        let out = Tensor(uninitialized: Strided.broadcast(shape, other.shape)!)
        Kernels.binary(op, self, other, out)
        return out
    }

    func expandNoGrad(_ target: [Int]) -> Tensor { view(target, broadcastStrides(to: target), offset) }

    @_specialize(where S == Float)
    @_specialize(where S == Double)
    func mulNoGrad(_ s: S) -> Tensor {
        let c = contiguousNoGrad()
        let out = Tensor(uninitialized: shape)
        for i in 0..<count { out.pointer[i] = c.pointer[i] * s }
        return out
    }

    public static func + (a: Tensor, b: Tensor) -> Tensor { a.binaryOp(.add, b) }
    public static func - (a: Tensor, b: Tensor) -> Tensor { a.binaryOp(.sub, b) }
    public static func * (a: Tensor, b: Tensor) -> Tensor { a.binaryOp(.mul, b) }
    public static func / (a: Tensor, b: Tensor) -> Tensor { a.binaryOp(.div, b) }
    public static func + (a: Tensor, s: S) -> Tensor { a.affine(scale: 1, shift: s) }
    public static func - (a: Tensor, s: S) -> Tensor { a.affine(scale: 1, shift: -s) }
    public static func * (a: Tensor, s: S) -> Tensor { a.affine(scale: s, shift: 0) }
    public static func / (a: Tensor, s: S) -> Tensor { a.affine(scale: 1 / s, shift: 0) }
    public static func * (s: S, a: Tensor) -> Tensor { a.affine(scale: s, shift: 0) }
    public static prefix func - (a: Tensor) -> Tensor { a.affine(scale: -1, shift: 0) }

    /// Elementwise minimum / maximum with broadcasting (PPO's clipped objective takes min of two surrogates).
    public func minimum(_ other: Tensor) -> Tensor { binaryOp(.min, other) }
    public func maximum(_ other: Tensor) -> Tensor { binaryOp(.max, other) }

    /// scale · x + shift.
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func affine(scale: S, shift: S) -> Tensor {
        let x = contiguousNoGrad()
        let out = Tensor(uninitialized: shape)
        let px = x.pointer, po = out.pointer
        for i in 0..<count { po[i] = px[i] * scale + shift }
        return out.record("affine", [self]) { g in self.accumulateGrad(g.mulNoGrad(scale)) }
    }

    /// Clamps into [low, high]; the gradient is zero where the input was clipped (as torch.clamp).
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func clamp(min low: S, max high: S) -> Tensor {
        let x = contiguousNoGrad()
        let out = Tensor(uninitialized: shape)
        for i in 0..<count { out.pointer[i] = Swift.min(Swift.max(x.pointer[i], low), high) }
        return out.record("clamp", [self]) { g in
            let gi = Tensor(uninitialized: self.shape)
            for i in 0..<self.count { let v = x.pointer[i]; gi.pointer[i] = (v >= low && v <= high) ? g.pointer[i] : 0 }
            self.accumulateGrad(gi)
        }
    }

    /// Applies a pointwise function whose derivative is expressed through input x and output y.
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    func pointwise(_ name: String, forward: (UnsafeMutablePointer<S>, UnsafeMutablePointer<S>, Int) -> Void,
                   derivative: @escaping (S, S) -> S) -> Tensor {
        let x = contiguousNoGrad()
        let out = Tensor(uninitialized: shape)
        forward(x.pointer, out.pointer, count)
        let saved = out.detached()  // not `out`: that would be a reference cycle through its own node
        return out.record(name, [self]) { g in
            let gi = Tensor(uninitialized: self.shape)
            let px = x.pointer, py = saved.pointer, pg = g.pointer, pd = gi.pointer
            Parallel.forEach(self.count, grain: Kernels.elementGrain) { r in
                for i in r { pd[i] = pg[i] * derivative(px[i], py[i]) }
            }
            _ = (x, saved)
            self.accumulateGrad(gi)
        }
    }

    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func exp() -> Tensor {
        pointwise("exp", forward: { S.expArray($0, $1, $2) }, derivative: { _, y in y })
    }
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func log() -> Tensor {
        pointwise("log", forward: { x, y, n in for i in 0..<n { y[i] = S.log(x[i]) } }, derivative: { x, _ in 1 / x })
    }
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func tanh() -> Tensor {
        pointwise("tanh", forward: { S.tanhArray($0, $1, $2) }, derivative: { _, y in 1 - y * y })
    }
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func sigmoid() -> Tensor {
        pointwise("sigmoid", forward: { x, y, n in
            for i in 0..<n { y[i] = -x[i] }
            S.expArray(y, y, n)
            for i in 0..<n { y[i] = 1 / (1 + y[i]) }
        }, derivative: { _, y in y * (1 - y) })
    }
    /// x·σ(x) (the SwiGLU gate in llama-style MLPs); σ is kept for the backward.
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func silu() -> Tensor {
        let x = contiguousNoGrad()
        let sg = Tensor(uninitialized: shape), out = Tensor(uninitialized: shape)
        let px = x.pointer, ps = sg.pointer, py = out.pointer
        Parallel.forEach(count, grain: Kernels.elementGrain) { r in
            var lo = r.lowerBound
            while lo < r.upperBound {
                let n = Swift.min(1024, r.upperBound - lo), xs = px + lo, ss = ps + lo, ys = py + lo
                for i in 0..<n { ss[i] = -xs[i] }
                S.expArray(ss, ss, n)
                for i in 0..<n { ss[i] = 1 / (1 + ss[i]); ys[i] = xs[i] * ss[i] }
                lo += n
            }
        }
        return out.record("silu", [self]) { g in
            // y = x·σ  →  dy/dx = σ·(1 + x(1 − σ))
            let gi = Tensor(uninitialized: self.shape)
            let pg = g.pointer, pd = gi.pointer  // the closure keeps x and sg alive
            Parallel.forEach(self.count, grain: Kernels.elementGrain) { r in
                for i in r { pd[i] = pg[i] * ps[i] * (1 + px[i] * (1 - ps[i])) }
            }
            _ = (x, sg)
            self.accumulateGrad(gi)
        }
    }

    /// SwiGLU's gated product silu(a) ⊙ b (a: the gate projection, b: the up projection, same shape) as one op:
    /// the same arithmetic, in the same order, as `a.silu() * b`, so the bits of the result and of both gradients
    /// are those of the two ops, with two passes over memory fewer forward and three backward, and one op instead
    /// of two per layer and decoding step.
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public static func swiglu(gate a0: Tensor, up b0: Tensor) -> Tensor {
        precondition(a0.shape == b0.shape, "swiglu: gate \(a0.shape) and up \(b0.shape) differ")
        let a = a0.contiguousNoGrad(), b = b0.contiguousNoGrad()
        let sg = Tensor(uninitialized: a.shape), out = Tensor(uninitialized: a.shape)
        let pa = a.pointer, pb = b.pointer, ps = sg.pointer, py = out.pointer
        Parallel.forEach(a.count, grain: Kernels.elementGrain) { r in
            var lo = r.lowerBound
            while lo < r.upperBound {
                let n = Swift.min(1024, r.upperBound - lo), xs = pa + lo, ss = ps + lo, bs = pb + lo, ys = py + lo
                for i in 0..<n { ss[i] = -xs[i] }
                S.expArray(ss, ss, n)
                // σ = 1/(1 + e^−a) ; silu = a·σ ; y = silu·b
                for i in 0..<n { ss[i] = 1 / (1 + ss[i]); let si = xs[i] * ss[i]; ys[i] = si * bs[i] }
                lo += n
            }
        }
        return out.record("swiglu", [a0, b0]) { g0 in
            // y = s·b, s = a·σ  →  db = g·s ; ds = g·b ; da = ds·σ·(1 + a(1 − σ))
            let g = g0.contiguousNoGrad(), pg = g.pointer
            let ga = a0.needsGrad ? Tensor(uninitialized: a.shape) : nil, gb = b0.needsGrad ? Tensor(uninitialized: a.shape) : nil
            let pda = ga?.pointer, pdb = gb?.pointer
            Parallel.forEach(a.count, grain: Kernels.elementGrain) { r in
                // in L1-sized blocks, each loop free of branches so that it vectorises
                var lo = r.lowerBound
                while lo < r.upperBound {
                    let n = Swift.min(1024, r.upperBound - lo), gs = pg + lo, xs = pa + lo, ss = ps + lo, us = pb + lo
                    if let pdb { let d = pdb + lo; for i in 0..<n { d[i] = gs[i] * (xs[i] * ss[i]) } }
                    if let pda { let d = pda + lo; for i in 0..<n { let ds = gs[i] * us[i]; d[i] = ds * ss[i] * (1 + xs[i] * (1 - ss[i])) } }
                    lo += n
                }
            }
            _ = (a, b, sg)
            if let ga { a0.accumulateGrad(ga) }
            if let gb { b0.accumulateGrad(gb) }
        }
    }

    /// GELU, tanh approximation (GPT-2; PyTorch `approximate="tanh"`). The forward keeps tanh(u) so the
    /// backward needs no transcendental call.
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func gelu() -> Tensor {
        let k = S(0.797_884_560_802_865_4), c = S(0.044_715)
        let x = contiguousNoGrad()
        let th = Tensor(uninitialized: shape), out = Tensor(uninitialized: shape)
        let px = x.pointer, pt = th.pointer, py = out.pointer
        Parallel.forEach(count, grain: Kernels.elementGrain) { r in
            // in L1-sized blocks, so the three passes read x from memory once
            var lo = r.lowerBound
            while lo < r.upperBound {
                let n = Swift.min(1024, r.upperBound - lo), xs = px + lo, ts = pt + lo, ys = py + lo
                for i in 0..<n { let v = xs[i]; ts[i] = k * (v + c * v * v * v) }
                S.tanhArray(ts, ts, n)
                for i in 0..<n { ys[i] = 0.5 * xs[i] * (1 + ts[i]) }
                lo += n
            }
        }
        return out.record("gelu", [self]) { g in
            // y = ½x(1 + t), t = tanh(k(x + c x³))  →  dy/dx = ½(1 + t) + ½x(1 − t²)·k(1 + 3c x²)
            let gi = Tensor(uninitialized: self.shape)
            let pg = g.pointer, pd = gi.pointer  // the closure keeps x and th alive
            Parallel.forEach(self.count, grain: Kernels.elementGrain) { r in
                for i in r {
                    let v = px[i], t = pt[i]
                    pd[i] = pg[i] * (0.5 * (1 + t) + 0.5 * v * (1 - t * t) * k * (1 + 3 * c * v * v))
                }
            }
            _ = (x, th)
            self.accumulateGrad(gi)
        }
    }
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func relu() -> Tensor {
        pointwise("relu", forward: { x, y, n in for i in 0..<n { y[i] = x[i] > 0 ? x[i] : 0 } }, derivative: { x, _ in x > 0 ? 1 : 0 })
    }
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func sqrt() -> Tensor {
        pointwise("sqrt", forward: { x, y, n in for i in 0..<n { y[i] = x[i].squareRoot() } }, derivative: { _, y in 1 / (2 * y) })
    }
    public func square() -> Tensor { self * self }

    /// Picks `a` where `mask` is true, else `b` (all three broadcast). `mask` is constant (no gradient).
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public static func `where`(_ mask: [Bool], shape maskShape: [Int], _ a: Tensor, _ b: Tensor) -> Tensor {
        precondition(mask.count == Tensor.count(maskShape))
        guard let s1 = Strided.broadcast(a.shape, b.shape), let shape = Strided.broadcast(s1, maskShape) else {
            preconditionFailure("where: cannot broadcast \(maskShape), \(a.shape), \(b.shape)")
        }
        let av = a.expandNoGrad(shape).contiguousNoGrad(), bv = b.expandNoGrad(shape).contiguousNoGrad()
        let m = Tensor<S>(shape: maskShape, scalars: mask.map { $0 ? 1 : 0 }).expandNoGrad(shape).contiguousNoGrad()
        let out = Tensor(uninitialized: shape)
        for i in 0..<out.count { out.pointer[i] = m.pointer[i] != 0 ? av.pointer[i] : bv.pointer[i] }
        return out.record("where", [a, b]) { g in
            if a.needsGrad { a.accumulateGrad(g.binaryNoGrad(.mul, m).sumTo(a.shape)) }
            if b.needsGrad {
                let inv = Tensor(uninitialized: shape)
                for i in 0..<shape.reduce(1, *) { inv.pointer[i] = g.pointer[i] * (1 - m.pointer[i]) }
                b.accumulateGrad(inv.sumTo(b.shape))
            }
        }
    }

    /// Replaces elements where `mask` is true by `value` (e.g. −∞ before a softmax); gradient passes elsewhere.
    public func maskedFill(_ mask: [Bool], shape maskShape: [Int], value: S) -> Tensor {
        Tensor.where(mask, shape: maskShape, Tensor(shape: [], scalars: [value]), self)
    }
}
