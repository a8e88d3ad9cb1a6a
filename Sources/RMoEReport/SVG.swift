import Foundation

/// Plots drawn as standalone SVG 1.1 text, for research reports read in a browser or on GitHub
/// (the drawing helpers: layout, ticks, colour maps, text sizes, are in SVGDraw.swift).
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
