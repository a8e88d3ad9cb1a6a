import FuzzSupport
import RMoECore
import RMoERuns

/// A sweep file's text: parsing resolves every run's config; run ids must be distinct names.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSweepJSON(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: data == nil ? 0 : size), as: UTF8.self)
    guard let spec = try? SweepSpec.parse(text, origin: "fuzz"), let runs = try? spec.runs() else { return 0 }
    if Set(runs.map(\.id)).count != runs.count { fatalError("duplicate run ids accepted") }
    if runs.contains(where: { $0.id.contains("/") || $0.id.hasPrefix(".") }) { fatalError("a run id is a path") }
    return 0
}

/// SwiftPM names an executable's entry point `<module>_main`: hand control to libFuzzer.
@_cdecl("FuzzSweepJSON_main")
public func entry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt { runFuzzer(argc, argv, fuzzSweepJSON) }
