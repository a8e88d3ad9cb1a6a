import Foundation

/// Plots drawn as standalone SVG 1.1 text, for research reports read in a browser or on GitHub.
///
/// Every function returns a complete `<svg>` document (with `xmlns`, `width`, `height` and
/// `viewBox`) on a white background. Text is XML-escaped, axis ticks fall on 1-2-5 steps,
/// series get the Tableau 10 palette and legends sit to the right of the plot area. NaN and
/// infinite values are skipped; inputs with nothing to draw give a small SVG saying "no data".
/// Output is deterministic: the same input gives a byte-identical SVG (numbers are written
/// with a fixed number of decimals, and no ids are used, so panels can be nested with `row`).
public enum SVGPlot {
    /// One line of a `lineChart`: the points `(x[i], y[i])` and an optional shaded band from
    /// `yLow[i]` to `yHigh[i]`. A point with a non-finite coordinate (or `x <= 0` on a log
    /// axis) is skipped and breaks the line; arrays of unequal length are cut to the shortest.
    public struct Series: Sendable {
        public var name: String
        public var x: [Double]
        public var y: [Double]
        public var yLow: [Double]?
        public var yHigh: [Double]?

        /// A series named `name` (shown in the legend); `yLow`/`yHigh` give the band, if any.
        public init(name: String, x: [Double], y: [Double], yLow: [Double]? = nil, yHigh: [Double]? = nil) {
            self.name = name; self.x = x; self.y = y; self.yLow = yLow; self.yHigh = yHigh
        }
    }

    /// One line per series, with an optional shaded band (`yLow`...`yHigh`) per point, a legend,
    /// axis labels and a title. Points get markers when a series has at most 30 of them.
    /// With `logX` the x axis is logarithmic (points with `x <= 0` are skipped).
    public static func lineChart(title: String, xLabel: String, yLabel: String, series: [Series], logX: Bool = false) -> String {
        func okX(_ v: Double) -> Bool { v.isFinite && (!logX || v > 0) }
        func band(_ s: Series, _ i: Int) -> (Double, Double)? {
            guard let lo = s.yLow, let hi = s.yHigh, i < lo.count, i < hi.count, lo[i].isFinite, hi[i].isFinite else { return nil }
            return (lo[i], hi[i])
        }
        var xs: [Double] = [], ys: [Double] = []
        for s in series {
            for i in 0..<min(s.x.count, s.y.count) where okX(s.x[i]) {
                if s.y[i].isFinite { xs.append(s.x[i]); ys.append(s.y[i]) }
                if let (lo, hi) = band(s, i) { xs.append(s.x[i]); ys += [lo, hi] }
            }
        }
        guard let x0 = xs.min(), let x1 = xs.max(), let y0 = ys.min(), let y1 = ys.max() else { return SVGDraw.noData(title) }
        let (ylo, yhi) = SVGDraw.pad(y0, y1, 0.06)
        let yt = SVGDraw.linTicks(ylo, yhi)
        let (xlo, xhi) = logX ? SVGDraw.pad(log10(x0), log10(x1), 0.03) : SVGDraw.pad(x0, x1, 0.03)
        let xt = logX ? SVGDraw.logTicks(xlo, xhi) : SVGDraw.linTicks(xlo, xhi)
        let legend = SVGDraw.Legend(series.map(\.name), height: 280)
        var (d, f) = SVGDraw.layout(
            title: title, left: SVGDraw.leftMargin(yt, yLabel), plotW: 460, plotH: 280,
            right: legend.width + 10, bottom: xLabel.isEmpty ? 26 : 44)
        let sx = SVGDraw.Scale(lo: xlo, hi: xhi, a: f.left, b: f.right, log: logX)
        let sy = SVGDraw.Scale(lo: ylo, hi: yhi, a: f.bottom, b: f.top, log: false)
        SVGDraw.xAxis(&d, f, sx, xt, label: xLabel, grid: true)
        SVGDraw.yAxis(&d, f, sy, yt, label: yLabel)
        for (si, s) in series.enumerated() {
            let c = SVGDraw.color(si, series.count)
            let n = min(s.x.count, s.y.count)
            for run in SVGDraw.runs(n, { okX(s.x[$0]) && band(s, $0) != nil }) where run.count >= 2 {
                let up = run.map { SVGDraw.pt(sx(s.x[$0]), sy(band(s, $0)!.1)) }
                let down = run.reversed().map { SVGDraw.pt(sx(s.x[$0]), sy(band(s, $0)!.0)) }
                d.add("<path d=\"M\((up + down).joined(separator: " L"))Z\" fill=\"\(c)\" fill-opacity=\"0.18\" stroke=\"none\"/>")
            }
            let ok: (Int) -> Bool = { okX(s.x[$0]) && s.y[$0].isFinite }
            for run in SVGDraw.runs(n, ok) where run.count >= 2 {
                let pts = run.map { SVGDraw.pt(sx(s.x[$0]), sy(s.y[$0])) }.joined(separator: " ")
                d.add("<polyline points=\"\(pts)\" fill=\"none\" stroke=\"\(c)\" stroke-width=\"1.8\" stroke-linejoin=\"round\"/>")
            }
            let idx = (0..<n).filter(ok)
            for i in idx where idx.count <= 30 { d.circle(sx(s.x[i]), sy(s.y[i]), r: 2.6, fill: c) }
        }
        SVGDraw.frameLines(&d, f)
        legend.draw(&d, x: f.right + 16, y: f.top + 6) { d, i, x, y in
            let c = SVGDraw.color(i, series.count)
            d.line(x, y, x + 16, y, stroke: c, width: 1.8)
            d.circle(x + 8, y, r: 2.6, fill: c)
        }
        return d.svg()
    }

    /// Bars with error bars (mean ± err), one bar per label. The y axis zooms to the data range
    /// with some padding unless `zeroBased` is true, in which case it includes 0 and bars start there.
    /// `highlight` colours one bar differently (e.g. the best). `references` (one per bar, `nil` or
    /// NaN for none) are drawn as small diamonds, e.g. a paper's value, named `referenceLabel` in a legend.
    public static func barChart(
        title: String, yLabel: String, labels: [String], values: [Double], errors: [Double],
        highlight: Int? = nil, zeroBased: Bool = false,
        references: [Double?] = [], referenceLabel: String = "reference"
    ) -> String {
        let n = max(labels.count, values.count), values = (0..<n).map { $0 < values.count ? values[$0] : .nan }
        func err(_ i: Int) -> Double { i < errors.count && errors[i].isFinite ? abs(errors[i]) : 0 }
        func ref(_ i: Int) -> Double? { i < references.count ? references[i].flatMap { $0.isFinite ? $0 : nil } : nil }
        var ys: [Double] = []
        for i in 0..<n where values[i].isFinite { ys += [values[i] - err(i), values[i] + err(i)] }
        guard !ys.isEmpty else { return SVGDraw.noData(title) }
        for i in 0..<n { if let r = ref(i) { ys.append(r) } }
        var lo = ys.min()!, hi = ys.max()!
        if zeroBased {
            lo = min(lo, 0); hi = max(hi, 0)
            (lo, hi) = (lo < 0 ? lo - 0.06 * (hi - lo) : 0, hi > 0 ? hi + 0.1 * (hi - lo) : 0)
            if lo == hi { hi = 1 }
        } else {
            let p = SVGDraw.pad(lo, hi, 0.12)
            (lo, hi) = (lo >= 0 && p.0 < 0 ? 0 : p.0, p.1)
        }
        let yt = SVGDraw.linTicks(lo, hi)
        let valueLabels = SVGDraw.distinctLabels(Array(values.prefix(n)))
        let plotW = min(1400, max(360, Double(n) * 56))
        let slot = plotW / Double(max(n, 1))
        let lab = (0..<n).map { $0 < labels.count ? labels[$0] : "" }
        let cats = SVGDraw.Cats(lab, slot: slot)
        let hasRef = (0..<n).contains { ref($0) != nil }
        let legend = SVGDraw.Legend(hasRef ? [referenceLabel] : [], height: 260)
        var (d, f) = SVGDraw.layout(
            title: title, left: max(SVGDraw.leftMargin(yt, yLabel), cats.overhang), plotW: plotW, plotH: 260,
            right: legend.width + 10, bottom: cats.height + 8)
        let sy = SVGDraw.Scale(lo: lo, hi: hi, a: f.bottom, b: f.top, log: false)
        SVGDraw.yAxis(&d, f, sy, yt, label: yLabel)
        let base = zeroBased ? sy(0) : f.bottom
        let centers = (0..<n).map { f.left + (Double($0) + 0.5) * slot }
        let bw = slot * 0.62
        for i in 0..<n where values[i].isFinite {
            let y = sy(values[i]), c = i == highlight ? SVGDraw.tab10[1] : SVGDraw.tab10[0]
            d.rect(centers[i] - bw / 2, min(y, base), bw, abs(base - y), fill: c, opacity: 0.85)
            let e = err(i)
            if e > 0 {
                let (ya, yb) = (sy(values[i] - e), sy(values[i] + e)), cap = bw * 0.18
                d.line(centers[i], ya, centers[i], yb, stroke: "#222222", width: 1.2)
                d.line(centers[i] - cap, ya, centers[i] + cap, ya, stroke: "#222222", width: 1.2)
                d.line(centers[i] - cap, yb, centers[i] + cap, yb, stroke: "#222222", width: 1.2)
            }
            if slot >= 34 {
                let top = min(sy(values[i] + e), y)
                d.text(centers[i], max(top - 5, f.top + 10), valueLabels[i], size: 11, anchor: "middle", fill: "#333333")
            }
        }
        for i in 0..<n where !values[i].isFinite { d.text(centers[i], f.bottom - 6, "n/a", size: 11, anchor: "middle", fill: "#888888") }
        for i in 0..<n { if let r = ref(i) { SVGDraw.diamond(&d, centers[i] + bw * 0.28, sy(r)) } }
        SVGDraw.drawCats(&d, f, centers: centers, labels: lab, cats)
        SVGDraw.frameLines(&d, f)
        legend.draw(&d, x: f.right + 16, y: f.top + 6) { d, _, x, y in SVGDraw.diamond(&d, x + 8, y) }
        return d.svg()
    }

    /// A matrix heatmap (`matrix[row][col]`) whose colours are fixed by `[vmin, vmax]` (values
    /// outside are clamped, so several heatmaps can share one scale), using the viridis colormap,
    /// with a colour bar, row/column tick labels (thinned when crowded) and, when `annotate` is
    /// true and the cells are large enough, each value written in its cell with `decimals` decimals.
    /// Non-finite cells (and cells missing from short rows) are drawn grey.
    public static func heatmap(
        title: String, matrix: [[Double]], rowLabels: [String], colLabels: [String],
        vmin: Double, vmax: Double, annotate: Bool, xLabel: String = "", yLabel: String = "",
        decimals: Int = 2, colourMap: ColourMap = .viridis, colourBar: Bool = true
    ) -> String {
        let rows = matrix.count, cols = matrix.map(\.count).max() ?? 0
        guard rows > 0, cols > 0 else { return SVGDraw.noData(title) }
        let vmin = vmin.isFinite ? vmin : 0
        let vmax = vmax.isFinite && vmax > vmin ? vmax : vmin + 1
        let fmt = "%.\(max(0, min(decimals, 8)))f"
        func val(_ r: Int, _ c: Int) -> Double { c < matrix[r].count ? matrix[r][c] : .nan }
        let rl = (0..<rows).map { SVGDraw.clip($0 < rowLabels.count ? rowLabels[$0] : "") }
        let cl = (0..<cols).map { SVGDraw.clip($0 < colLabels.count ? colLabels[$0] : "") }
        var cw = max(4, min(48, (520 / Double(cols)).rounded(.down)))
        var ch = max(4, min(48, (400 / Double(rows)).rounded(.down)))
        cw = min(cw, max(ch, 4)); ch = min(ch, cw)  // square cells by default
        let annW = (0..<rows).flatMap { r in (0..<cols).map { SVGDraw.textWidth(String(format: fmt, val(r, $0)), 11) } }.max() ?? 0
        if annotate && cw < annW + 6 && Double(cols) * (annW + 6) <= 1000 && Double(rows) * 18 <= 1000 {
            cw = (annW + 6).rounded(.up); ch = max(ch, 18)
        }
        let showAnn = annotate && cw >= annW + 4 && ch >= 13
        let gw = cw * Double(cols), gh = ch * Double(rows)
        let rowW = rl.map { SVGDraw.textWidth($0, 11) }.max() ?? 0
        let colW = cl.map { SVGDraw.textWidth($0, 11) }.max() ?? 0
        let rotate = colW > cw - 2
        let colStep = rotate ? max(1, Int((14 / cw).rounded(.up))) : 1
        let rowStep = max(1, Int((13 / ch).rounded(.up)))
        let ct = SVGDraw.linTicks(vmin, vmax)
        let barH = max(gh, 150)
        let left = ((yLabel.isEmpty ? 8 : 28) + rowW + 8).rounded(.up)
        let colH = rotate ? colW * 0.71 + 16 : 20, bottom = (colH + (xLabel.isEmpty ? 4 : 22)).rounded(.up)
        let right = colourBar ? 18 + 14 + 6 + (ct.labels.map { SVGDraw.textWidth($0, 11) }.max() ?? 0) + 10 : 10
        var (d, f) = SVGDraw.layout(title: title, left: left, plotW: gw, plotH: gh, right: right, bottom: max(bottom, barH - gh + 8))
        for r in 0..<rows {
            for c in 0..<cols {
                let v = val(r, c), x = f.left + Double(c) * cw, y = f.top + Double(r) * ch
                guard v.isFinite else { d.rect(x, y, cw, ch, fill: "#d9d9d9"); continue }
                let (hex, light) = colourMap.colour(v, vmin, vmax)
                d.rect(x, y, cw, ch, fill: hex)
                if showAnn {
                    d.text(
                        x + cw / 2, y + ch / 2 + 4, String(format: fmt, v), size: 11, anchor: "middle",
                        fill: light ? "#111111" : "#ffffff")
                }
            }
        }
        d.rect(f.left, f.top, gw, gh, fill: "none", stroke: "#444444", strokeWidth: 0.8)
        for r in stride(from: 0, to: rows, by: rowStep) {
            d.text(f.left - 6, f.top + (Double(r) + 0.5) * ch + 4, rl[r], size: 11, anchor: "end", fill: "#444444")
        }
        let centers = (0..<cols).map { f.left + (Double($0) + 0.5) * cw }
        for c in stride(from: 0, to: cols, by: colStep) {
            if rotate {
                d.text(centers[c] + 3, f.bottom + 12, cl[c], size: 11, anchor: "end", fill: "#444444", rotate: -45)
            } else {
                d.text(centers[c], f.bottom + 15, cl[c], size: 11, anchor: "middle", fill: "#444444")
            }
        }
        if !xLabel.isEmpty { d.text(f.left + gw / 2, f.bottom + colH + 12, xLabel, size: 12, anchor: "middle") }
        if !yLabel.isEmpty { d.text(16, f.top + gh / 2, yLabel, size: 12, anchor: "middle", rotate: -90) }
        if colourBar { SVGDraw.colourBar(&d, x: f.right + 18, top: f.top, height: barH, vmin: vmin, vmax: vmax, map: colourMap, label: "") }
        return d.svg()
    }

    /// How a heatmap turns values into colours: viridis from vmin to vmax, or a diverging blue -
    /// white - red map whose white sits at `center` (e.g. 1.0 for load relative to uniform).
    public enum ColourMap: Sendable {
        case viridis
        case diverging(center: Double)

        func colour(_ v: Double, _ vmin: Double, _ vmax: Double) -> (hex: String, light: Bool) {
            switch self {
            case .viridis: return SVGDraw.viridis((v - vmin) / (vmax - vmin))
            case .diverging(let c):
                let t = v < c ? 0.5 * (v - vmin) / max(c - vmin, 1e-12) : 0.5 + 0.5 * (v - c) / max(vmax - c, 1e-12)
                return SVGDraw.diverging(t)
            }
        }
    }

    /// Panels in a grid of at most `columns` per row, with one shared colour bar (its range, map
    /// and label) to the right when given: for heatmaps drawn on one scale with `colourBar: false`.
    public static func grid(_ panels: [String], columns: Int = 4, colourBar: (vmin: Double, vmax: Double, map: ColourMap, label: String)? = nil)
        -> String
    {
        let cols = max(1, columns)
        let rows = stride(from: 0, to: panels.count, by: cols).map { row(Array(panels[$0..<min($0 + cols, panels.count)])) }
        var parts: [String] = [], y = 0.0, w = 0.0
        for r in rows {
            guard let start = r.range(of: "<svg") else { continue }
            let body = String(r[start.lowerBound...]).trimmingCharacters(in: .whitespacesAndNewlines)
            let (rw, rh) = SVGDraw.svgSize(body)
            parts.append("<g transform=\"translate(0,\(SVGDraw.n(y)))\">\n\(body)\n</g>")
            y += rh + 10; w = max(w, rw)
        }
        guard !parts.isEmpty else { return SVGDraw.noData("") }
        let barW = colourBar == nil ? 0.0 : 110
        var d = SVGDraw.Doc(width: w + barW, height: max(y - 10, 200), title: "")
        parts.forEach { d.add($0) }
        if let b = colourBar {
            SVGDraw.colourBar(&d, x: w + 16, top: 40, height: min(max(y - 90, 150), 400), vmin: b.vmin, vmax: b.vmax, map: b.map, label: b.label)
        }
        return d.svg()
    }

    /// Box plots for several groups: box from the first to the third quartile, a line at the median,
    /// whiskers to the furthest points within 1.5 IQR, and points beyond them as dots. `reference`
    /// draws a horizontal dashed line at `value`, labelled to the right of the plot area.
    public static func boxPlot(
        title: String, yLabel: String, groups: [String], values: [[Double]],
        reference: (value: Double, label: String)? = nil
    ) -> String {
        let data = values.map { $0.filter(\.isFinite).sorted() }
        var ys = data.flatMap { $0 }
        guard !ys.isEmpty else { return SVGDraw.noData(title) }
        let ref = reference.flatMap { $0.value.isFinite ? $0 : nil }
        if let r = ref { ys.append(r.value) }
        let (lo, hi) = SVGDraw.pad(ys.min()!, ys.max()!, 0.06)
        let yt = SVGDraw.linTicks(lo, hi)
        let n = max(groups.count, data.count)
        let plotW = min(1400, max(320, Double(n) * 64)), slot = plotW / Double(n)
        let lab = (0..<n).map { $0 < groups.count ? groups[$0] : "" }
        let cats = SVGDraw.Cats(lab, slot: slot)
        let refW = ref.map { SVGDraw.textWidth(SVGDraw.clip($0.label), 11) + 16 } ?? 0
        var (d, f) = SVGDraw.layout(
            title: title, left: max(SVGDraw.leftMargin(yt, yLabel), cats.overhang), plotW: plotW, plotH: 260,
            right: refW + 10, bottom: cats.height + 8)
        let sy = SVGDraw.Scale(lo: lo, hi: hi, a: f.bottom, b: f.top, log: false)
        SVGDraw.yAxis(&d, f, sy, yt, label: yLabel)
        let centers = (0..<n).map { f.left + (Double($0) + 0.5) * slot }
        let bw = min(slot * 0.55, 60)
        for (i, s) in data.enumerated() where !s.isEmpty {
            let c = SVGDraw.color(i, n), x = centers[i]
            let q1 = SVGDraw.quantile(s, 0.25), med = SVGDraw.quantile(s, 0.5), q3 = SVGDraw.quantile(s, 0.75), iqr = q3 - q1
            let wlo = min(q1, s.first { $0 >= q1 - 1.5 * iqr } ?? q1), whi = max(q3, s.last { $0 <= q3 + 1.5 * iqr } ?? q3)
            for (end, edge) in [(wlo, q1), (whi, q3)] {
                d.line(x, sy(end), x, sy(edge), stroke: "#444444", width: 1.2)
                d.line(x - bw * 0.25, sy(end), x + bw * 0.25, sy(end), stroke: "#444444", width: 1.2)
            }
            d.rect(x - bw / 2, sy(q3), bw, max(sy(q1) - sy(q3), 0.8), fill: c, opacity: 0.35, stroke: c, strokeWidth: 1.4)
            d.line(x - bw / 2, sy(med), x + bw / 2, sy(med), stroke: "#222222", width: 2)
            for v in s where v < q1 - 1.5 * iqr || v > q3 + 1.5 * iqr {
                d.add("<circle cx=\"\(SVGDraw.n(x))\" cy=\"\(SVGDraw.n(sy(v)))\" r=\"2.6\" fill=\"none\" stroke=\"\(c)\" stroke-width=\"1.2\"/>")
            }
        }
        if let r = ref {
            let y = sy(r.value)
            d.line(f.left, y, f.right, y, stroke: "#d62728", width: 1.4, dash: "6 4")
            d.text(f.right + 6, y + 4, SVGDraw.clip(r.label), size: 11, fill: "#d62728")
        }
        SVGDraw.drawCats(&d, f, centers: centers, labels: lab, cats)
        SVGDraw.frameLines(&d, f)
        return d.svg()
    }

    /// Histograms of several series over shared bins (`bins` equal bins over `range`, or over the
    /// data's range), overlaid as semi-transparent bars with a step outline each. Values outside
    /// `range` are not counted; the last bin includes its right edge.
    public static func histogram(
        title: String, xLabel: String, series: [(name: String, values: [Double])], bins: Int,
        range: ClosedRange<Double>? = nil
    ) -> String {
        let all = series.flatMap { $0.values.filter(\.isFinite) }
        let nb = max(1, min(bins, 10_000))
        var lo = range?.lowerBound ?? all.min() ?? .nan, hi = range?.upperBound ?? all.max() ?? .nan
        guard !all.isEmpty, lo.isFinite, hi.isFinite else { return SVGDraw.noData(title) }
        if hi <= lo { (lo, hi) = (lo - 0.5, hi + 0.5) }
        let w = (hi - lo) / Double(nb)
        let counts: [[Double]] = series.map { s in
            var c = [Double](repeating: 0, count: nb)
            for v in s.values where v.isFinite && v >= lo && v <= hi {
                let t = (v - lo) / w
                c[t.isFinite ? min(nb - 1, max(0, Int(t))) : 0] += 1
            }
            return c
        }
        let top = counts.flatMap { $0 }.max() ?? 0
        let (ylo, yhi) = (0.0, top > 0 ? top * 1.08 : 1)
        let yt = SVGDraw.linTicks(ylo, yhi, minStep: 1), xt = SVGDraw.linTicks(lo, hi)
        let legend = SVGDraw.Legend(series.map(\.name), height: 260)
        var (d, f) = SVGDraw.layout(
            title: title, left: SVGDraw.leftMargin(yt, "count"), plotW: 460, plotH: 260,
            right: legend.width + 10, bottom: xLabel.isEmpty ? 26 : 44)
        let sx = SVGDraw.Scale(lo: lo, hi: hi, a: f.left, b: f.right, log: false)
        let sy = SVGDraw.Scale(lo: ylo, hi: yhi, a: f.bottom, b: f.top, log: false)
        SVGDraw.xAxis(&d, f, sx, xt, label: xLabel, grid: false)
        SVGDraw.yAxis(&d, f, sy, yt, label: "count")
        for (si, c) in counts.enumerated() {
            let col = SVGDraw.color(si, series.count)
            var path = "M\(SVGDraw.pt(f.left, f.bottom))"
            for b in 0..<nb {
                let x0 = sx(lo + Double(b) * w), x1 = sx(lo + Double(b + 1) * w), y = sy(c[b])
                if c[b] > 0 { d.rect(x0, y, x1 - x0, f.bottom - y, fill: col, opacity: 0.25) }
                path += " L\(SVGDraw.pt(x0, y)) L\(SVGDraw.pt(x1, y))"
            }
            path += " L\(SVGDraw.pt(f.right, f.bottom))"
            d.add("<path d=\"\(path)\" fill=\"none\" stroke=\"\(col)\" stroke-width=\"1.6\"/>")
        }
        SVGDraw.frameLines(&d, f)
        legend.draw(&d, x: f.right + 16, y: f.top + 6) { d, i, x, y in
            let c = SVGDraw.color(i, series.count)
            d.rect(x, y - 5, 16, 10, fill: c, opacity: 0.25, stroke: c, strokeWidth: 1.6)
        }
        return d.svg()
    }

    /// Several SVG panels side by side in one SVG, top-aligned, `gap` pixels apart. Each panel is
    /// nested as an `<svg>` element inside a translated `<g>`; the total size comes from the
    /// panels' `width`/`height` attributes (or their `viewBox` when those are missing).
    public static func row(_ panels: [String], gap: Double = 10) -> String {
        var parts: [String] = [], x = 0.0, h = 0.0
        let gap = gap.isFinite ? max(0, gap) : 0
        for p in panels {
            guard let start = p.range(of: "<svg") else { continue }
            let body = String(p[start.lowerBound...]).trimmingCharacters(in: .whitespacesAndNewlines)
            let (w, ph) = SVGDraw.svgSize(body)
            if !parts.isEmpty { x += gap }
            parts.append("<g transform=\"translate(\(SVGDraw.n(x)),0)\">\n\(body)\n</g>")
            x += w; h = max(h, ph)
        }
        guard !parts.isEmpty else { return SVGDraw.noData("") }
        var d = SVGDraw.Doc(width: x, height: h, title: "")
        parts.forEach { d.add($0) }
        return d.svg()
    }
}

/// The drawing helpers behind `SVGPlot` (a namespace, so that nothing here clashes with the module).
private enum SVGDraw {
    static let tab10 = [
        "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
        "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
    ]
    /// matplotlib's viridis at t = 0, 0.1, ..., 1.
    static let viridisAnchors: [UInt32] = [
        0x440154, 0x482475, 0x414487, 0x355f8d, 0x2a788e, 0x21918c,
        0x22a884, 0x44bf70, 0x7ad151, 0xbddf26, 0xfde725,
    ]

    struct Frame {
        var left, top, width, height: Double
        var right: Double { left + width }
        var bottom: Double { top + height }
    }

    /// Maps data values (their log10 when `log`) from `lo...hi` to pixels `a...b`.
    struct Scale {
        let lo, hi, a, b: Double, log: Bool
        func callAsFunction(_ v: Double) -> Double { a + ((log ? log10(v) : v) - lo) / (hi - lo) * (b - a) }
    }

    struct Ticks { var values: [Double]; var labels: [String] }

    /// An SVG document being built.
    struct Doc {
        var width: Double, height: Double
        var parts: [String] = []

        init(width: Double, height: Double, title: String) {
            self.width = max(width, title.isEmpty ? 0 : textWidth(title, 13) + 24).rounded(.up)
            self.height = height.rounded(.up)
            if !title.isEmpty { text(self.width / 2, 22, title, size: 13, anchor: "middle", bold: true) }
        }
        mutating func add(_ s: String) { parts.append(s) }
        mutating func text(
            _ x: Double, _ y: Double, _ s: String, size: Int = 11, anchor: String = "start",
            bold: Bool = false, fill: String = "#222222", rotate: Double? = nil
        ) {
            var a = "<text x=\"\(n(x))\" y=\"\(n(y))\" font-size=\"\(size)\" fill=\"\(fill)\""
            if anchor != "start" { a += " text-anchor=\"\(anchor)\"" }
            if bold { a += " font-weight=\"bold\"" }
            if let r = rotate { a += " transform=\"rotate(\(n(r)) \(n(x)) \(n(y)))\"" }
            add(a + ">" + esc(s) + "</text>")
        }
        mutating func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, stroke: String, width: Double, dash: String? = nil) {
            let a = dash.map { " stroke-dasharray=\"\($0)\"" } ?? ""
            add("<line x1=\"\(n(x1))\" y1=\"\(n(y1))\" x2=\"\(n(x2))\" y2=\"\(n(y2))\" stroke=\"\(stroke)\" stroke-width=\"\(n(width))\"\(a)/>")
        }
        /// A rectangle; `opacity` is the fill's, and `stroke` (if any) outlines it.
        mutating func rect(
            _ x: Double, _ y: Double, _ w: Double, _ h: Double, fill: String, opacity: Double = 1,
            stroke: String? = nil, strokeWidth: Double = 1
        ) {
            var a = opacity < 1 ? " fill-opacity=\"\(n(opacity))\"" : ""
            if let s = stroke { a += " stroke=\"\(s)\" stroke-width=\"\(n(strokeWidth))\"" }
            add("<rect x=\"\(n(x))\" y=\"\(n(y))\" width=\"\(n(w))\" height=\"\(n(h))\" fill=\"\(fill)\"\(a)/>")
        }
        mutating func circle(_ x: Double, _ y: Double, r: Double, fill: String) {
            add("<circle cx=\"\(n(x))\" cy=\"\(n(y))\" r=\"\(n(r))\" fill=\"\(fill)\"/>")
        }
        func svg() -> String {
            let w = String(format: "%.0f", width), h = String(format: "%.0f", height)
            return "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"\(w)\" height=\"\(h)\" viewBox=\"0 0 \(w) \(h)\" "
                + "font-family=\"Helvetica, Arial, sans-serif\">\n<rect x=\"0\" y=\"0\" width=\"\(w)\" height=\"\(h)\" fill=\"#ffffff\"/>\n"
                + parts.joined(separator: "\n") + "\n</svg>\n"
        }
    }

    /// A legend to the right of the plot: one entry per name, in several columns when the names
    /// do not fit in the plot's height.
    struct Legend {
        let names: [String], rows: Int, cols: Int, colW: Double
        init(_ names: [String], height: Double) {
            self.names = names.map { clip($0) }
            let fit = max(1, Int(height / 16))
            cols = names.isEmpty ? 0 : (names.count + fit - 1) / fit
            rows = cols == 0 ? 0 : (names.count + cols - 1) / cols
            colW = 30 + (self.names.map { textWidth($0, 11) }.max() ?? 0)
        }
        var width: Double { cols == 0 ? 0 : 16 + Double(cols) * colW }
        func draw(_ d: inout Doc, x: Double, y: Double, swatch: (inout Doc, Int, Double, Double) -> Void) {
            for (i, name) in names.enumerated() {
                let ex = x + Double(i / rows) * colW, ey = y + Double(i % rows) * 16
                swatch(&d, i, ex, ey)
                d.text(ex + 22, ey + 4, name, size: 11)
            }
        }
    }

    /// How category labels under a plot are laid out: horizontal when they fit, else rotated and thinned.
    struct Cats {
        let rotate: Bool, step: Int, height: Double
        /// How far a rotated first label reaches left of the plot area.
        let overhang: Double
        init(_ labels: [String], slot: Double) {
            let w = labels.map { textWidth(clip($0), 11) }.max() ?? 0
            rotate = w > slot - 4
            step = rotate ? max(1, Int((15 / slot).rounded(.up))) : 1
            height = rotate ? w * 0.643 + 22 : 20
            overhang = rotate ? (w * 0.766 + 8 - slot / 2).rounded(.up) : 0
        }
    }

    // MARK: Text and numbers

    /// A coordinate with one decimal (never "-0.0").
    static func n(_ v: Double) -> String {
        guard v.isFinite else { return "0" }
        let s = String(format: "%.1f", v)
        return s == "-0.0" ? "0.0" : s
    }
    static func pt(_ x: Double, _ y: Double) -> String { n(x) + "," + n(y) }
    /// A value with 3 significant digits.
    static func sig(_ v: Double) -> String { expo(String(format: "%.3g", v)) }

    /// Labels with enough significant digits (3 to 7) that different values never print alike.
    static func distinctLabels(_ values: [Double]) -> [String] {
        let distinct = Set(values.filter(\.isFinite))
        for digits in 3...7 {
            let f = { (v: Double) in expo(String(format: "%.\(digits)g", v)) }
            if Set(distinct.map(f)).count == distinct.count || digits == 7 { return values.map(f) }
        }
        return values.map(sig)
    }

    static func esc(_ s: String) -> String {
        var out = ""
        for u in s.unicodeScalars {
            switch u {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\t", "\n", "\r": out += " "
            default:
                // Characters XML 1.0 does not allow are dropped.
                if u.value >= 0x20 && !(0xFFFE...0xFFFF).contains(u.value) { out.unicodeScalars.append(u) }
            }
        }
        return out
    }
    /// Long labels are cut to 32 characters.
    static func clip(_ s: String) -> String { s.count <= 32 ? s : String(s.prefix(31)) + "…" }
    /// A rough width of `s` in pixels at `size` px (generous, so text does not overflow).
    static func textWidth(_ s: String, _ size: Double) -> Double { Double(s.count) * size * 0.6 }

    // MARK: Axes

    static func pad(_ lo: Double, _ hi: Double, _ frac: Double) -> (Double, Double) {
        if hi > lo { return (lo - (hi - lo) * frac, hi + (hi - lo) * frac) }
        let d = lo == 0 ? 1 : abs(lo) * 0.1
        return (lo - d, hi + d)
    }

    /// The 1-2-5 step closest to `raw`.
    static func niceStep(_ raw: Double) -> Double {
        let mag = pow(10, (log10(raw)).rounded(.down)), r = raw / mag
        return (r < 1.5 ? 1 : r < 3 ? 2 : r < 7 ? 5 : 10) * mag
    }

    /// About `target` ticks on a 1-2-5 step within `lo...hi`, with labels of just enough decimals.
    static func linTicks(_ lo: Double, _ hi: Double, target: Int = 5, minStep: Double = 0) -> Ticks {
        let span = hi - lo
        guard span > 0, span.isFinite, lo.isFinite else { return Ticks(values: lo.isFinite ? [lo] : [], labels: lo.isFinite ? [sig(lo)] : []) }
        let step = max(minStep, niceStep(span / Double(target)))
        let i0 = (lo / step - 1e-9).rounded(.up), i1 = (hi / step + 1e-9).rounded(.down)
        guard step > 0, i1 >= i0, i1 - i0 < 100 else { return Ticks(values: [lo, hi], labels: [sig(lo), sig(hi)]) }
        let values = stride(from: i0, through: i1, by: 1).map { $0 * step + 0 }
        let big = max(abs(lo), abs(hi))
        let labels: [String]
        if big >= 1e6 || step < 1e-4 {
            let digits = max(0, Int(log10(big).rounded(.down) - log10(step).rounded(.down)))
            labels = values.map { $0 == 0 ? "0" : expo(String(format: "%.\(min(digits, 6))e", $0)) }
        } else {
            let dec = max(0, -Int((log10(step) + 1e-9).rounded(.down)))
            labels = values.map { String(format: "%.\(dec)f", $0) }
        }
        return Ticks(values: values, labels: labels)
    }

    /// Ticks for a log axis whose range is `lo...hi` in log10 units: decades (with 2 and 5 when the
    /// range is short), or linear ticks when the range spans less than a factor of ~3.
    static func logTicks(_ lo: Double, _ hi: Double) -> Ticks {
        let decades = hi - lo
        let mults: [Double] = decades <= 3 ? [1, 2, 5] : [1]
        let every = max(1, Int((decades / 7).rounded(.up)))
        var values: [Double] = []
        for k in Int(lo.rounded(.down))...Int(hi.rounded(.up)) where (k % every + every) % every == 0 || mults.count > 1 {
            for m in mults {
                let v = m * pow(10, Double(k)), l = log10(v)
                if l >= lo - 1e-9 && l <= hi + 1e-9 { values.append(v) }
            }
        }
        if values.count < 3 {
            let t = linTicks(pow(10, lo), pow(10, hi))
            let keep = t.values.indices.filter { t.values[$0] > 0 }
            return Ticks(values: keep.map { t.values[$0] }, labels: keep.map { t.labels[$0] })
        }
        let ks = values.map { Int((log10($0) + 1e-9).rounded(.down)) }
        let plain = ks.allSatisfy { (-4...5).contains($0) }
        let labels = zip(values, ks).map { v, k in
            plain ? String(format: "%.\(max(0, -k))f", v) : "\(Int((v / pow(10, Double(k))).rounded()))e\(k)"
        }
        return Ticks(values: values, labels: labels)
    }

    /// "1.5e+06" -> "1.5e6", "2e-05" -> "2e-5".
    static func expo(_ s: String) -> String {
        s.replacingOccurrences(of: "e+0", with: "e").replacingOccurrences(of: "e-0", with: "e-").replacingOccurrences(of: "e+", with: "e")
    }

    static func leftMargin(_ t: Ticks, _ label: String) -> Double {
        ((label.isEmpty ? 8 : 28) + (t.labels.map { textWidth($0, 11) }.max() ?? 0) + 10).rounded(.up)
    }

    /// A document with a title and a plot frame of `plotW` x `plotH` placed by the given margins.
    static func layout(title: String, left: Double, plotW: Double, plotH: Double, right: Double, bottom: Double) -> (Doc, Frame) {
        let top = title.isEmpty ? 14.0 : 40.0
        let d = Doc(width: left + plotW + max(right, 16), height: top + plotH + bottom, title: title)
        return (d, Frame(left: left, top: top, width: plotW, height: plotH))
    }

    static func yAxis(_ d: inout Doc, _ f: Frame, _ s: Scale, _ t: Ticks, label: String) {
        for (v, l) in zip(t.values, t.labels) {
            let y = s(v)
            d.line(f.left, y, f.right, y, stroke: "#e6e6e6", width: 1)
            d.line(f.left - 4, y, f.left, y, stroke: "#444444", width: 1)
            d.text(f.left - 7, y + 4, l, size: 11, anchor: "end", fill: "#444444")
        }
        if !label.isEmpty { d.text(16, f.top + f.height / 2, label, size: 12, anchor: "middle", rotate: -90) }
    }

    static func xAxis(_ d: inout Doc, _ f: Frame, _ s: Scale, _ t: Ticks, label: String, grid: Bool) {
        for (v, l) in zip(t.values, t.labels) {
            let x = s(v)
            if grid { d.line(x, f.top, x, f.bottom, stroke: "#f0f0f0", width: 1) }
            d.line(x, f.bottom, x, f.bottom + 4, stroke: "#444444", width: 1)
            d.text(x, f.bottom + 16, l, size: 11, anchor: "middle", fill: "#444444")
        }
        if !label.isEmpty { d.text(f.left + f.width / 2, f.bottom + 36, label, size: 12, anchor: "middle") }
    }

    static func drawCats(_ d: inout Doc, _ f: Frame, centers: [Double], labels: [String], _ c: Cats) {
        for i in stride(from: 0, to: labels.count, by: c.step) {
            d.line(centers[i], f.bottom, centers[i], f.bottom + 4, stroke: "#444444", width: 1)
            if c.rotate {
                d.text(centers[i] + 4, f.bottom + 13, clip(labels[i]), size: 11, anchor: "end", fill: "#444444", rotate: -40)
            } else {
                d.text(centers[i], f.bottom + 16, clip(labels[i]), size: 11, anchor: "middle", fill: "#444444")
            }
        }
    }

    /// The left and bottom axis lines.
    static func frameLines(_ d: inout Doc, _ f: Frame) {
        d.line(f.left, f.top, f.left, f.bottom, stroke: "#444444", width: 1)
        d.line(f.left, f.bottom, f.right, f.bottom, stroke: "#444444", width: 1)
    }

    // MARK: Colours and marks

    /// Tableau 10 for up to 10 series; evenly spaced hues (alternating lightness) beyond.
    static func color(_ i: Int, _ count: Int) -> String {
        if count <= 10 { return tab10[i % 10] }
        // HSL to RGB, saturation 0.65.
        let h = Double(i) / Double(count) * 12, l = i % 2 == 0 ? 0.45 : 0.62, a = 0.65 * min(l, 1 - l)
        func f(_ n: Double) -> Double { let k = (n + h).truncatingRemainder(dividingBy: 12); return (l - a * max(-1, min(k - 3, 9 - k, 1))) * 255 }
        return hex(f(0), f(8), f(4))
    }

    static func hex(_ r: Double, _ g: Double, _ b: Double) -> String {
        let c = [r, g, b].map { UInt32(min(255, max(0, $0.isFinite ? $0.rounded() : 0))) }
        return String(format: "#%02x%02x%02x", c[0], c[1], c[2])
    }

    /// Viridis at `t` (clamped to 0...1), and whether it is light enough for dark text.
    static func viridis(_ t: Double) -> (hex: String, light: Bool) {
        let t = t.isFinite ? min(1, max(0, t)) : 0
        let p = t * 10, i = min(9, Int(p)), f = p - Double(i)
        func ch(_ c: UInt32, _ shift: UInt32) -> Double { Double((c >> shift) & 0xff) }
        let a = viridisAnchors[i], b = viridisAnchors[i + 1]
        let rgb = [16, 8, 0].map { ch(a, $0) + (ch(b, $0) - ch(a, $0)) * f }
        return (hex(rgb[0], rgb[1], rgb[2]), 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2] > 140)
    }

    /// RdBu (ColorBrewer) from t = 0 (blue) through white (0.5) to red (1).
    static let divergingAnchors: [UInt32] = [0x2166ac, 0x92c5de, 0xf7f7f7, 0xf4a582, 0xb2182b]

    static func diverging(_ t: Double) -> (hex: String, light: Bool) {
        let t = t.isFinite ? min(1, max(0, t)) : 0.5
        let p = t * 4, i = min(3, Int(p)), f = p - Double(i)
        func ch(_ c: UInt32, _ shift: UInt32) -> Double { Double((c >> shift) & 0xff) }
        let a = divergingAnchors[i], b = divergingAnchors[i + 1]
        let rgb = [16, 8, 0].map { ch(a, $0) + (ch(b, $0) - ch(a, $0)) * f }
        return (hex(rgb[0], rgb[1], rgb[2]), 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2] > 140)
    }

    /// A vertical colour bar: 64 slices from vmin (bottom) to vmax (top), ticks, and `label` along
    /// it; no gradient ids, so panels nest safely.
    static func colourBar(
        _ d: inout Doc, x bx: Double, top: Double, height barH: Double, vmin: Double, vmax: Double, map: SVGPlot.ColourMap, label: String
    ) {
        let slices = 64
        for k in (0..<slices).reversed() {  // each slice reaches the bottom, so no seams show between slices
            let y0 = top + barH * Double(slices - 1 - k) / Double(slices)
            let v = vmin + (vmax - vmin) * (Double(k) + 0.5) / Double(slices)
            d.rect(bx, y0, 14, top + barH - y0, fill: map.colour(v, vmin, vmax).hex)
        }
        d.rect(bx, top, 14, barH, fill: "none", stroke: "#444444", strokeWidth: 0.8)
        let ct = linTicks(vmin, vmax)
        let sb = Scale(lo: vmin, hi: vmax, a: top + barH, b: top, log: false)
        for (v, l) in zip(ct.values, ct.labels) {
            d.line(bx + 14, sb(v), bx + 18, sb(v), stroke: "#444444", width: 1)
            d.text(bx + 21, sb(v) + 4, l, size: 11, fill: "#444444")
        }
        if !label.isEmpty {
            let lx = bx + 21 + (ct.labels.map { textWidth($0, 11) }.max() ?? 0) + 14
            d.text(lx, top + barH / 2, label, size: 12, anchor: "middle", rotate: -90)
        }
    }

    static func diamond(_ d: inout Doc, _ x: Double, _ y: Double) {
        let r = 5.0
        let path = "M\(pt(x, y - r)) L\(pt(x + r, y)) L\(pt(x, y + r)) L\(pt(x - r, y))Z"
        d.add("<path d=\"\(path)\" fill=\"#d62728\" stroke=\"#ffffff\" stroke-width=\"1\"/>")
    }

    // MARK: Data

    /// Maximal runs of consecutive indices in `0..<n` for which `ok` holds.
    static func runs(_ n: Int, _ ok: (Int) -> Bool) -> [[Int]] {
        var out: [[Int]] = [], cur: [Int] = []
        for i in 0..<max(n, 0) {
            if ok(i) { cur.append(i) } else if !cur.isEmpty { out.append(cur); cur = [] }
        }
        if !cur.isEmpty { out.append(cur) }
        return out
    }

    /// The `p` quantile of sorted `s`, interpolated linearly (numpy's default).
    static func quantile(_ s: [Double], _ p: Double) -> Double {
        let h = Double(s.count - 1) * p, i = Int(h.rounded(.down))
        return i + 1 < s.count ? s[i] + (h - Double(i)) * (s[i + 1] - s[i]) : s[i]
    }

    /// A panel's width and height from its root element's attributes (or its viewBox).
    static func svgSize(_ svg: String) -> (Double, Double) {
        guard let end = svg.firstIndex(of: ">") else { return (0, 0) }
        let tag = String(svg[..<end])
        func attr(_ name: String) -> String? {
            for sep in [" ", "\n", "\t"] {
                if let r = tag.range(of: sep + name + "=\"") {
                    return String(tag[r.upperBound...].prefix { $0 != "\"" })
                }
            }
            return nil
        }
        func num(_ s: String?) -> Double? { s.flatMap { Double($0.prefix { "0123456789.+-eE".contains($0) }) } }
        let vb = attr("viewBox")?.split(whereSeparator: { $0 == " " || $0 == "," }).compactMap { Double($0) } ?? []
        let w = num(attr("width")) ?? (vb.count == 4 ? vb[2] : 0)
        let h = num(attr("height")) ?? (vb.count == 4 ? vb[3] : 0)
        return (w.isFinite ? max(0, w) : 0, h.isFinite ? max(0, h) : 0)
    }

    /// A small SVG with the title and the words "no data".
    static func noData(_ title: String) -> String {
        var d = Doc(width: 360, height: 160, title: title)
        d.text(d.width / 2, 95, "no data", size: 13, anchor: "middle", fill: "#888888")
        return d.svg()
    }
}
