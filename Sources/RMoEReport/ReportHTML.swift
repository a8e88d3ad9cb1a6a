import Foundation

/// `report.html` of a sweep: one self-contained page (no network: the figures are inline SVG, the
/// style is inline) with the results table and its sections (table.md rendered), every figure,
/// the sweep's config and provenance, and a link to every run's files. A script at the end checks
/// that every figure has a size and writes the verdict into `#render-check` (read by
/// `scripts/check-report.sh` in headless Chromium).
public enum ReportHTML {
    public struct Run {
        public var id: String
        public var status: String
        public init(id: String, status: String) { self.id = id; self.status = status }
    }

    /// `runLink` gives a run's folder relative to the page (default `runs/<id>/`).
    public static func page(
        name: String, markdown: String, figures: [(file: String, svg: String)], spec: String, provenance: [String], runs: [Run],
        runLink: (String) -> String = { "runs/" + $0 + "/" }
    ) -> String {
        var h = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>rmoe sweep \(escape(name))</title>
            <style>
            body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
            table{border-collapse:collapse;margin:1em 0;font-size:.9em}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:right}
            th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}code,pre{background:#f6f6f6;font-size:.85em}
            pre{padding:.8em;overflow-x:auto}figure{margin:1.5em 0}figcaption{font-size:.85em;color:#555}
            figure svg{max-width:100%;height:auto}#render-check{font-size:.8em;color:#777}
            </style></head><body>
            <h1>Sweep <code>\(escape(name))</code></h1>
            <nav><a href="#results">Results</a> · <a href="#figures">Figures</a> · <a href="#runs">Runs</a> · <a href="#config">Config and provenance</a></nav>
            <section id="results">
            """
        h += markdownToHTML(markdown)
        h += "</section>\n<section id=\"figures\"><h2>Figures</h2>\n"
        for f in figures {
            let id = f.file.replacingOccurrences(of: ".svg", with: "")
            h +=
                "<figure id=\"fig-\(escape(id))\">\(inlineSVG(f.svg))<figcaption>plots/\(escape(f.file)) (also as a file, with its data in plots/\(escape(id)).csv where written)</figcaption></figure>\n"
        }
        h += "</section>\n<section id=\"runs\"><h2>Runs</h2><table><tr><th>run</th><th>status</th><th>files</th></tr>\n"
        for r in runs {
            let base = runLink(r.id)
            let links = ["config.json", "metrics.jsonl", "final.json"].map { "<a href=\"\(escape(base + $0))\">\($0)</a>" }.joined(separator: " ")
            h += "<tr><td>\(escape(r.id))</td><td>\(escape(r.status))</td><td>\(links)</td></tr>\n"
        }
        h += "</table></section>\n<section id=\"config\"><h2>Config and provenance</h2><h3>Sweep file</h3><pre>\(escape(spec))</pre>\n"
        h += "<h3>Provenance of the runs</h3><ul>" + provenance.map { "<li><code>\(escape($0))</code></li>" }.joined() + "</ul></section>\n"
        h += """
            <p id="render-check" data-ok="0">render-check: not run (scripts disabled?)</p>
            <script>
            (function () {
              var figs = document.querySelectorAll('figure > svg'), empty = 0;
              figs.forEach(function (s) { var b = s.getBoundingClientRect(); if (!(b.width > 0 && b.height > 0)) empty++; });
              var el = document.getElementById('render-check');
              el.setAttribute('data-ok', empty === 0 ? '1' : '0');
              el.textContent = 'render-check: ' + (empty === 0 ? 'ok' : 'FAILED') + ', ' + figs.length + ' figures, ' + empty + ' without a size';
            })();
            </script>
            </body></html>

            """
        return h
    }

    /// The SVG without its XML prologue, so it can sit inside HTML.
    static func inlineSVG(_ svg: String) -> String {
        guard let r = svg.range(of: "<svg") else { return "<p>(figure missing)</p>" }
        return String(svg[r.lowerBound...])
    }

    public static func escape(_ s: String) -> String {
        var o = ""
        for c in s {
            switch c {
            case "&": o += "&amp;"
            case "<": o += "&lt;"
            case ">": o += "&gt;"
            case "\"": o += "&quot;"
            default: o.append(c)
            }
        }
        return o
    }

    /// The Markdown that table.md uses: headings, pipe tables, bullet lists, paragraphs, with
    /// `code` and **bold** inline.
    static func markdownToHTML(_ md: String) -> String {
        var out = "", paragraph: [String] = [], list: [String] = [], table: [[String]] = []
        func inline(_ s: String) -> String {
            var t = escape(s)
            for (mark, tag) in [("**", "strong"), ("`", "code")] {
                let parts = t.components(separatedBy: mark)
                guard parts.count >= 3 else { continue }
                t = parts.enumerated().map { i, p in i == 0 ? p : (i % 2 == 1 ? "<\(tag)>" : "</\(tag)>") + p }.joined()
                if parts.count % 2 == 0 { t += "</\(tag)>" }
            }
            return t
        }
        func flush() {
            if !paragraph.isEmpty { out += "<p>" + inline(paragraph.joined(separator: " ")) + "</p>\n"; paragraph = [] }
            if !list.isEmpty { out += "<ul>" + list.map { "<li>" + inline($0) + "</li>" }.joined() + "</ul>\n"; list = [] }
            if !table.isEmpty {
                out += "<table>"
                for (i, row) in table.enumerated() {
                    let tag = i == 0 ? "th" : "td"
                    out += "<tr>" + row.map { "<\(tag)>" + inline($0) + "</\(tag)>" }.joined() + "</tr>"
                }
                out += "</table>\n"
                table = []
            }
        }
        for raw in md.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("|") {
                if !paragraph.isEmpty || !list.isEmpty { let t = table; table = []; flush(); table = t }
                let cells = line.trimmingCharacters(in: CharacterSet(charactersIn: "|")).components(separatedBy: "|").map {
                    $0.trimmingCharacters(in: .whitespaces)
                }
                if cells.allSatisfy({ !$0.isEmpty && $0.allSatisfy { "-: ".contains($0) } }) { continue }  // the separator row
                table.append(cells)
                continue
            }
            if !table.isEmpty { flush() }
            if line.isEmpty {
                flush()
            } else if let level = line.firstIndex(where: { $0 != "#" }).map({ line.distance(from: line.startIndex, to: $0) }), level > 0, level <= 6,
                line.dropFirst(level).first == " "
            {
                flush()
                out += "<h\(level + 1)>" + inline(String(line.dropFirst(level + 1))) + "</h\(level + 1)>\n"
            } else if line.hasPrefix("- ") {
                if !paragraph.isEmpty { let l = list; list = []; flush(); list = l }
                list.append(String(line.dropFirst(2)))
            } else if !list.isEmpty, raw.hasPrefix("  ") {
                list[list.count - 1] += " " + line
            } else {
                if !list.isEmpty { flush() }
                paragraph.append(line)
            }
        }
        flush()
        return out
    }
}
