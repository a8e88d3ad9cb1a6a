import Testing

@testable import RMoEBench

@Suite("benchmark ratios carry an interval")
struct RatioTests {
    @Test("clear, tied and noisy ratios; the same samples give the same interval")
    func intervals() {
        let fast = Timing(samples: [1.00, 1.01, 0.99, 1.02, 0.98, 1.00, 1.01])
        let slow = Timing(samples: fast.samples.map { $0 * 1.5 })
        let clear = Ratio(slow, fast)
        #expect(abs(clear.value - 1.5) < 1e-12 && clear.low > 1.4 && clear.high < 1.6 && !clear.includesOne && !clear.wide)
        #expect(!clear.text.contains("includes") && !clear.text.contains("wide"))
        let tie = Ratio(Timing(samples: [1.0, 1.1, 0.9, 1.05, 0.95]), Timing(samples: [1.02, 0.98, 1.08, 0.93, 1.0]))
        #expect(tie.includesOne && tie.text.contains("includes 1.0"))
        let noisy = Ratio(Timing(samples: [2.0, 3.5, 2.2, 4.0, 2.1]), Timing(samples: [1.0, 1.0, 1.0, 1.0, 1.0]))
        #expect(noisy.wide && !noisy.includesOne && noisy.text.contains("wide"))
        #expect(Ratio(slow, fast).low == clear.low && Ratio(slow, fast).high == clear.high)
        #expect(Ratio(Timing(samples: [1]), Timing(samples: [1])).text.contains("too few"))
    }
}
