import Foundation
import Testing

@testable import RMoEReport

/// Figures that a paper could print: values told apart, one colour bar for a grid of panels, a
/// diverging map whose white is its centre.
@Suite("figures")
struct FigureTests {
    @Test("bar labels have enough digits to tell values apart; grids share one labelled colour bar; the diverging map is white at its centre")
    func figures() {
        let bars = SVGPlot.barChart(title: "t", yLabel: "bpc", labels: ["smoe", "rmoe"], values: [1.7484, 1.7529], errors: [0, 0])
        #expect(bars.contains(">1.748<") && bars.contains(">1.753<"), "\(bars.prefix(200))")
        let panels = (0..<5).map { i in
            SVGPlot.heatmap(
                title: "p\(i)", matrix: [[0.5, 1.0], [1.5, 2.0]], rowLabels: ["a", "b"], colLabels: ["x", "y"], vmin: 0, vmax: 2,
                annotate: false, colourMap: .diverging(center: 1), colourBar: false)
        }
        let grid = SVGPlot.grid(panels, columns: 4, colourBar: (0, 2, .diverging(center: 1), "load / uniform"))
        #expect(grid.contains("load / uniform"))
        // Five panels in rows of four: two rows.
        #expect(grid.components(separatedBy: "translate(0,").count - 1 == 2)
        #expect(SVGPlot.ColourMap.diverging(center: 1).colour(1, 0, 2).hex.lowercased() == "#f7f7f7")
        let csv = FigureData.series([SVGPlot.Series(name: "a", x: [1, 2], y: [3, 4])], x: "step", y: "bpc")
        #expect(csv == "series,step,bpc,bpc_min,bpc_max\na,1,3,,\na,2,4,,\n")
    }
}
