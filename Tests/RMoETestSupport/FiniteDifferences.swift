/// Central finite differences in Double.
///
/// For every element i of `x`, estimates dL/dx_i = (L(x + h e_i) - L(x - h e_i)) / 2h and compares it
/// with `analytic[i]`. The error of an element is |a - n| / max(|a|, |n|, floor), where the floor is
/// `relativeFloor` times the largest |analytic| element: elements whose gradient is essentially zero
/// are judged by their absolute error (1e-9 of the largest gradient at the default tolerance),
/// so one wrong element is still caught (`absoluteFloor` replaces that floor, e.g. one taken over a
/// whole model). The one finite-difference checker of every test target. Returns the worst element.
public func finiteDifferenceError(
    _ x: inout [Double], analytic: [Double], h: Double = 1e-5, relativeFloor: Double = 1e-3,
    absoluteFloor: Double? = nil,
    loss: ([Double]) -> Double
) -> (error: Double, index: Int, analytic: Double, numeric: Double) {
    precondition(x.count == analytic.count)
    let floor = absoluteFloor ?? max(relativeFloor * (analytic.map { abs($0) }.max() ?? 0), 1e-12)
    var worst = (error: 0.0, index: -1, analytic: 0.0, numeric: 0.0)
    for i in 0..<x.count {
        let saved = x[i]
        x[i] = saved + h
        let lp = loss(x)
        x[i] = saved - h
        let lm = loss(x)
        x[i] = saved
        let numeric = (lp - lm) / (2 * h)
        let err = abs(analytic[i] - numeric) / max(abs(analytic[i]), abs(numeric), floor)
        if err > worst.error || worst.index < 0 { worst = (err, i, analytic[i], numeric) }
    }
    return worst
}

/// Sum of c[i] * y[i]: a scalar loss with a random output gradient c.
public func weightedSum(_ y: [Double], _ c: [Double]) -> Double {
    var s = 0.0
    for i in 0..<y.count { s += y[i] * c[i] }
    return s
}
