import RMoECore

/// Wall time of a training step split by kind of work (`rmoe bench step --breakdown`). Off unless
/// `LanguageModel.profile` is set; then each part is bracketed by two clock reads.
public final class StepProfile: @unchecked Sendable {
    public enum Part: Int, CaseIterable, Sendable {
        case attentionProjections, attentionCore, expertFFN, denseFFN, dispatch, router, normsAndElementwise, loss, optimizer

        public var name: String {
            switch self {
            case .attentionProjections: "attention projections (qkv, rope, wo)"
            case .attentionCore: "attention core (scores, softmax, P v)"
            case .expertFFN: "expert FFN (per-expert sgemms)"
            case .denseFFN: "dense FFN"
            case .dispatch: "dispatch (gate, sort, gather, combine, balance)"
            case .router: "router"
            case .normsAndElementwise: "norms, residuals, embedding"
            case .loss: "LM head and loss"
            case .optimizer: "optimizer (clip, AdamW)"
            }
        }
    }

    public private(set) var seconds = [Double](repeating: 0, count: Part.allCases.count)
    public init() {}

    @inline(__always)
    public func add(_ part: Part, since t0: Double) { seconds[part.rawValue] += System.now() - t0 }
}

/// Runs `body`, charging its time to `part` when profiling.
@inline(__always)
func timed<R>(_ profile: StepProfile?, _ part: StepProfile.Part, _ body: () -> R) -> R {
    guard let profile else { return body() }
    let t0 = System.now()
    let r = body()
    profile.add(part, since: t0)
    return r
}
