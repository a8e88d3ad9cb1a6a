import FuzzSupport
import RMoEData

/// The gzip reader (and the DEFLATE decoder under it) on arbitrary bytes, with a 16 MB cap.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzGzip(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    if let out = try? Gzip.decompress(bytes, limit: 1 << 24), out.count > 1 << 24 { fatalError("output past the cap") }
    _ = try? Inflate.decompress(bytes, limit: 1 << 24)
    return 0
}

/// SwiftPM names an executable's entry point `<module>_main`: hand control to libFuzzer.
@_cdecl("FuzzGzip_main")
public func entry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt { runFuzzer(argc, argv, fuzzGzip) }
