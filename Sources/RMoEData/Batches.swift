import RMoECore

/// Training batches: B windows of seq_len + 1 tokens at positions drawn from the run's seed and the
/// step number alone, so a resumed run sees exactly the batches an uninterrupted run would.
public struct TrainBatches: Sendable {
    public let tokens: [Int32]
    public let seqLen: Int
    public let batch: Int
    public let seed: UInt64

    public init(tokens: [Int32], seqLen: Int, batch: Int, seed: UInt64) throws {
        guard tokens.count > seqLen + 1 else {
            throw RMoEError("the train split has \(tokens.count) tokens, fewer than seq_len + 2 = \(seqLen + 2); lower seq_len or use a larger corpus")
        }
        self.tokens = tokens; self.seqLen = seqLen; self.batch = batch; self.seed = seed
    }

    /// Writes batch `step` into `input` and `target` ([batch, seqLen] each).
    public func fill(step: Int, input: UnsafeMutablePointer<Int32>, target: UnsafeMutablePointer<Int32>) {
        fill(step: step, rows: 0..<batch, input: input, target: target)
    }

    /// Writes rows `rows` of batch `step` (a rank's or a micro-batch's part) into `input` and
    /// `target` ([rows.count, seqLen] each). Every row's window is drawn as for the whole batch.
    public func fill(step: Int, rows: Range<Int>, input: UnsafeMutablePointer<Int32>, target: UnsafeMutablePointer<Int32>) {
        var rng = Xoshiro256(seed: seed, stream: stableHash("batches") &+ UInt64(step))
        let span = tokens.count - seqLen - 1
        tokens.withUnsafeBufferPointer { t in
            for b in 0..<batch {
                let start = rng.below(span + 1)
                guard rows.contains(b) else { continue }
                let r = b - rows.lowerBound
                (input + r * seqLen).update(from: t.baseAddress! + start, count: seqLen)
                (target + r * seqLen).update(from: t.baseAddress! + start + 1, count: seqLen)
            }
        }
    }
}

/// Evaluation windows over a whole split: window w covers tokens [w*S, w*S + S] and predicts
/// tokens w*S + 1 ... w*S + S from the window alone. The last window may be short; its missing
/// positions get target -1 (not counted). Every token but the first is predicted exactly once.
public struct EvalWindows: Sendable {
    public let tokens: [Int32]
    public let seqLen: Int

    public init(tokens: [Int32], seqLen: Int) {
        self.tokens = tokens
        self.seqLen = seqLen
    }

    public var windowCount: Int { tokens.count > 1 ? (tokens.count - 2) / seqLen + 1 : 0 }
    /// Tokens predicted over the whole split.
    public var predictedCount: Int { max(tokens.count - 1, 0) }

    /// Fills `batch` rows with windows `first ..< first + batch` (rows past the end are not counted).
    /// `limitWindows` restricts the split to its first windows (quick validation during training).
    public func fill(
        first: Int, batch: Int, input: UnsafeMutablePointer<Int32>, target: UnsafeMutablePointer<Int32>,
        limitWindows: Int? = nil
    ) {
        let total = min(windowCount, limitWindows ?? Int.max)
        let n = tokens.count
        for b in 0..<batch {
            let w = first + b
            let row = b * seqLen
            for j in 0..<seqLen {
                let pos = w * seqLen + j
                if w < total && pos + 1 < n {
                    input[row + j] = tokens[pos]
                    target[row + j] = tokens[pos + 1]
                } else {
                    input[row + j] = 0
                    target[row + j] = -1
                }
            }
        }
    }
}
