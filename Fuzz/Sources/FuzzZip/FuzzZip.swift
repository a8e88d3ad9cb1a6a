import FuzzSupport
import RMoEData

/// The zip reader on arbitrary bytes: listing entries and extracting the first, with a 16 MB cap.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzZip(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = fuzzBytes(data, size)
    _ = try? Zip.entryNames(bytes)
    if let out = try? Zip.extract(bytes, limit: 1 << 24), out.count > 1 << 24 { fatalError("output past the cap") }
    return 0
}

/// SwiftPM names an executable's entry point `<module>_main`: hand control to libFuzzer.
@_cdecl("FuzzZip_main")
public func entry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt { runFuzzer(argc, argv, fuzzZip) }
