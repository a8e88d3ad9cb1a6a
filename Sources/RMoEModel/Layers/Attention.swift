import RMoECore

/// Causal multi-head self-attention with rotary position embeddings (rotate-half, Llama style).
///
/// Weights `attn.wq`, `attn.wk`, `attn.wv`, `attn.wo`, each [d, d] in PyTorch layout; wq, wk, wv
/// sit side by side in the slab and are used as one [3d, d] matrix.
///
///     qkv = x Wqkv^T                [T, 3d]    (q | k | v per row)
///     q, k = rope(q), rope(k)       heads of width hd = d / H, position = index in sequence
///     P = softmax(q k^T / sqrt(hd)) causal, per (sequence, head)   [B*H, S, S]
///     o = P v                       [T, d]
///     y += o Wo^T                   (residual add fused into the product)
public struct Attention<S: KernelScalar> {
    let wqkv, dwqkv, wo, dwo: UnsafeMutablePointer<S>
    let B, S_, d, H, hd: Int
    let scale: S
    let ropeCos, ropeSin: UnsafePointer<S>
    // Saved for backward (this layer's own).
    let qkv, probs, out: UnsafeMutablePointer<S>
    // Backward scratch, shared by all layers.
    let dqkv, dout, dprobs: UnsafeMutablePointer<S>

    /// Memory this layer saves for its backward pass, in elements.
    static func savedCount(B: Int, S: Int, d: Int, H: Int) -> [Int] { [B * S * 3 * d, B * H * S * S, B * S * d] }
    /// Shared backward scratch, in elements.
    static func scratchCount(B: Int, S: Int, d: Int, H: Int) -> [Int] { [B * S * 3 * d, B * S * d, B * H * S * S] }

    init(
        params: Slab<S>, grads: Slab<S>, prefix: String, B: Int, seqLen: Int, d: Int, H: Int,
        rope: (cos: UnsafePointer<S>, sin: UnsafePointer<S>),
        saved: [UnsafeMutablePointer<S>], scratch: [UnsafeMutablePointer<S>]
    ) {
        wqkv = params.pointer(prefix + "wq.weight")
        dwqkv = grads.pointer(prefix + "wq.weight")
        precondition(
            params.pointer(prefix + "wk.weight") == wqkv + d * d
                && params.pointer(prefix + "wv.weight") == wqkv + 2 * d * d, "wq, wk, wv must be adjacent")
        wo = params.pointer(prefix + "wo.weight")
        dwo = grads.pointer(prefix + "wo.weight")
        self.B = B; self.S_ = seqLen; self.d = d; self.H = H; hd = d / H
        scale = 1 / S(Double(d / H).squareRoot())
        ropeCos = rope.cos; ropeSin = rope.sin
        qkv = saved[0]; probs = saved[1]; out = saved[2]
        dqkv = scratch[0]; dout = scratch[1]; dprobs = scratch[2]
    }

    /// `y += Attn(x)`; x [T, d] (the normed input), y [T, d] (holds the residual on entry).
    /// With a `profile`, the projections and the core are charged to their own parts.
    func forward(y: UnsafeMutablePointer<S>, x: UnsafePointer<S>, profile: StepProfile? = nil) {
        let T = B * S_
        timed(profile, .attentionProjections) {
            Linear.forward(qkv, x, wqkv, T, d, 3 * d)
            S.rope(qkv, ropeCos, ropeSin, T, S_, 2 * H, hd, 3 * d, inverse: false)
        }
        timed(profile, .attentionCore) { S.attentionForward(out, probs, qkv, B, S_, H, hd, scale) }
        timed(profile, .attentionProjections) { Linear.forward(y, out, wo, T, d, d, accumulate: true) }
    }

    /// Given `dy = dL/dy`, writes `dx = dL/dx` and accumulates the weight gradients.
    func backward(dx: UnsafeMutablePointer<S>, dy: UnsafePointer<S>, x: UnsafePointer<S>, profile: StepProfile? = nil) {
        let T = B * S_
        timed(profile, .attentionProjections) { Linear.backward(dx: dout, dw: dwo, accumulateDx: false, dy, out, wo, T, d, d) }
        timed(profile, .attentionCore) { S.attentionBackward(dqkv, dprobs, dout, probs, qkv, B, S_, H, hd, scale) }
        timed(profile, .attentionProjections) {
            S.rope(dqkv, ropeCos, ropeSin, T, S_, 2 * H, hd, 3 * d, inverse: true)
            Linear.backward(dx: dx, dw: dwqkv, accumulateDx: false, dqkv, x, wqkv, T, d, 3 * d)
        }
    }

    /// cos/sin tables [S, hd/2] for positions 0..<S: angle = pos * theta^(-2i/hd).
    static func ropeTables(seqLen: Int, headDim: Int, theta: Double) -> (cos: [S], sin: [S]) {
        let half = headDim / 2
        var c = [S](repeating: 0, count: seqLen * half), s = c
        for p in 0..<seqLen {
            for i in 0..<half {
                // Computed as PyTorch does in float32: inv_freq = 1 / theta^(2i/hd), angle = pos * inv_freq.
                let invFreq = 1 / pow(theta, Double(2 * i) / Double(headDim))
                let angle = Double(p) * invFreq
                c[p * half + i] = S(cos(angle))
                s[p * half + i] = S(sin(angle))
            }
        }
        return (c, s)
    }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
