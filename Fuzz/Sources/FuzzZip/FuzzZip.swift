import RMoEData

/// The zip reader on arbitrary bytes: listing entries and extracting the first, with a 16 MB cap.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzZip(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = (data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
    _ = try? Zip.entryNames(bytes)
    if let out = try? Zip.extract(bytes, limit: 1 << 24), out.count > 1 << 24 { fatalError("output past the cap") }
    return 0
}

@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

/// SwiftPM names an executable's entry point `<module>_main`: hand control to libFuzzer.
@_cdecl("FuzzZip_main")
public func entry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var c = argc, v = argv
    return LLVMFuzzerRunDriver(&c, &v, fuzzZip)
}
