import RMoECore

/// Token embedding `tok_emb.weight [V, d]`: `x[t] = E[token[t]]`; backward `dE[token[t]] += dx[t]`.
public struct Embedding<S: KernelScalar> {
    public let weight: UnsafeMutablePointer<S>
    public let weightGrad: UnsafeMutablePointer<S>
    public let dim: Int

    public func forward(x: UnsafeMutablePointer<S>, tokens: UnsafePointer<Int32>, rows: Int) {
        S.embeddingForward(x, tokens, weight, rows, dim)
    }

    public func backward(dx: UnsafePointer<S>, tokens: UnsafePointer<Int32>, rows: Int) {
        S.embeddingBackward(weightGrad, dx, tokens, rows, dim)
    }
}
