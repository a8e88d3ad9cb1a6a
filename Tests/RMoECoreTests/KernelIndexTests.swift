import Foundation
import Testing
@testable import RMoECore

/// Every templated C kernel can be found by its expanded name: each file lists the symbols its
/// `FN(x)` definitions expand to, so `grep -rn rk_gru_fwd_f32 Sources` lands on the definition.
@Suite("C kernels a reader can find")
struct KernelIndexTests {
    @Test("each FN(rk_...) definition is listed as _f32 and _f64 in its file's Defines line")
    func definitionsAreListed() throws {
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Sources/CKernels").path
        let files = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".c") }
        #expect(files.count > 10)
        let definition = try Regex(#"(?m)^[A-Za-z_][\w \*]*\bFN\((rk_\w+)\)\s*\("#)
        var listed = 0
        for f in files {
            let text = try String(contentsOfFile: dir + "/" + f, encoding: .utf8)
            let index = text.components(separatedBy: "*/").first { $0.contains("Defines (grep-able") } ?? ""
            for m in text.matches(of: definition) {
                let name = String(text[m.output[1].range!])
                #expect(index.contains(name + "_f32") && index.contains(name + "_f64"), "\(f): \(name)")
                listed += 1
            }
        }
        #expect(listed > 30)
        #expect(Runtime.maxTopK == 64 && Runtime.maxExperts == 1024)
    }
}
