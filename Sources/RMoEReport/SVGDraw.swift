import Foundation

/// The drawing helpers behind `SVGPlot` (a namespace, so that nothing here clashes with the module).
enum SVGDraw {
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
