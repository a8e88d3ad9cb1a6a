import RMoECore

/// AdamW over a parameter slab (PyTorch `torch.optim.AdamW` arithmetic), with global
/// gradient-norm clipping. Moments live in two slabs of the parameter layout. Tensors whose spec
/// says `decay: false` (norms, biases, temperatures) get no weight decay; frozen tensors
/// (`trainable: false`) are never touched.
public final class AdamW<S: KernelScalar> {
    public let layout: TensorLayout
    public let expAvg: Slab<S>
    public let expAvgSq: Slab<S>
    /// Updates done so far (the bias corrections use step = updates + 1).
    public var updates = 0
    public var beta1: Double, beta2: Double, eps: Double, weightDecay: Double
    /// Learning-rate multiplier of each tensor of the layout (1 unless set, e.g. by `router_lr_scale`).
    public var lrScale: [Double]
    /// The update's work list, built once: (start, end, tensor index) triples cutting every
    /// trainable tensor into ranges of at most `taskElements` (16,384 by default); and per-tensor
    /// lr and decay, refilled each step (no allocation in the step).
    let tasks: UnsafeMutablePointer<Int>
    let taskCount: Int, trainableCount: Int
    let lrs, decays: UnsafeMutablePointer<S>

    public init(
        layout: TensorLayout, beta1: Double = 0.9, beta2: Double = 0.999, eps: Double = 1e-8, weightDecay: Double = 0,
        taskElements: Int = 16384
    ) {
        precondition(taskElements > 0, "taskElements must be positive")
        self.layout = layout
        expAvg = Slab(layout)
        expAvgSq = Slab(layout)
        self.beta1 = beta1; self.beta2 = beta2; self.eps = eps; self.weightDecay = weightDecay
        lrScale = Array(repeating: 1, count: layout.specs.count)
        var list: [Int] = []
        var total = 0
        for (i, spec) in layout.specs.enumerated() where spec.trainable {
            let start = layout.offsets[i], end = start + spec.count
            total += spec.count
            for a in stride(from: start, to: end, by: taskElements) { list += [a, min(a + taskElements, end), i] }
        }
        taskCount = list.count / 3
        trainableCount = total
        tasks = .allocate(capacity: max(list.count, 1))
        tasks.initialize(from: list, count: list.count)
        lrs = .allocate(capacity: max(layout.specs.count, 1))
        decays = .allocate(capacity: max(layout.specs.count, 1))
        lrs.initialize(repeating: 0, count: max(layout.specs.count, 1))
        decays.initialize(repeating: 0, count: max(layout.specs.count, 1))
    }

    deinit {
        tasks.deallocate()
        lrs.deallocate()
        decays.deallocate()
    }

    /// Sets the learning-rate multiplier of the tensors named in `names`.
    public func setLearningRateScale(_ scale: Double, for names: Set<String>) {
        for (i, spec) in layout.specs.enumerated() where names.contains(spec.name) { lrScale[i] = scale }
    }

    /// Global L2 norm of the trainable gradients (Double accumulation, thread-count independent).
    public static func gradientNorm(_ grads: Slab<S>) -> Double { sumOfSquares(grads).squareRoot() }

    /// Sum of squares of the trainable gradients of the tensors `include` selects, tensor by
    /// tensor in slab order (Double accumulation).
    public static func sumOfSquares(_ grads: Slab<S>, where include: (TensorSpec) -> Bool = { _ in true }) -> Double {
        var total = 0.0
        for (i, spec) in grads.layout.specs.enumerated() where spec.trainable && include(spec) {
            total += S.sumOfSquares(grads.pointer(at: i), spec.count)
        }
        return total
    }

    /// Clips the gradients to `maxNorm` as `torch.nn.utils.clip_grad_norm_` does
    /// (coefficient maxNorm / (norm + 1e-6), applied when below 1). Returns the norm before clipping.
    @discardableResult
    public static func clip(_ grads: Slab<S>, maxNorm: Double) -> Double {
        let norm = gradientNorm(grads)
        clip(grads, norm: norm, maxNorm: maxNorm)
        return norm
    }

    /// Clips with a norm computed elsewhere (e.g. over the expert shards of every process).
    public static func clip(_ grads: Slab<S>, norm: Double, maxNorm: Double) {
        guard maxNorm > 0 else { return }
        let coef = maxNorm / (norm + 1e-6)
        if coef < 1 {
            for (i, spec) in grads.layout.specs.enumerated() where spec.trainable {
                S.scale(grads.pointer(at: i), spec.count, S(coef))
            }
        }
    }

    /// One update of every trainable tensor with learning rate `lr` (times the tensor's `lrScale`).
    public func step(params: Slab<S>, grads: Slab<S>, lr: Double) {
        updates += 1
        let bc1 = 1 - pow(beta1, Double(updates)), bc2 = 1 - pow(beta2, Double(updates))
        for (i, spec) in layout.specs.enumerated() {
            lrs[i] = S(lr * lrScale[i])
            decays[i] = S(spec.decay ? weightDecay : 0)
        }
        S.adamwTasks(
            params.base, expAvg.base, expAvgSq.base, grads.base, tasks: tasks, count: taskCount, total: trainableCount,
            lr: lrs, weightDecay: decays, beta1: S(beta1), beta2: S(beta2), eps: S(eps),
            biasCorrection1: S(bc1), biasCorrection2: S(bc2))
    }

    /// The same update tensor by tensor (`S.adamw` on each trainable tensor): the reference the
    /// tests hold `step` to, bit for bit.
    public func stepPerTensor(params: Slab<S>, grads: Slab<S>, lr: Double) {
        updates += 1
        let bc1 = 1 - pow(beta1, Double(updates)), bc2 = 1 - pow(beta2, Double(updates))
        for (i, spec) in layout.specs.enumerated() where spec.trainable {
            S.adamw(
                params.pointer(at: i), expAvg.pointer(at: i), expAvgSq.pointer(at: i), grads.pointer(at: i), spec.count,
                lr: S(lr * lrScale[i]), beta1: S(beta1), beta2: S(beta2), eps: S(eps),
                weightDecay: S(spec.decay ? weightDecay : 0),
                biasCorrection1: S(bc1), biasCorrection2: S(bc2))
        }
    }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
