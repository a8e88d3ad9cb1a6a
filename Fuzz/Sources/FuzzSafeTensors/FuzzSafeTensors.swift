import FuzzSupport
import RMoECore

/// The safetensors parser on arbitrary bytes: it must throw or return, never trap; every tensor
/// it accepts must be readable.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafeTensors(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = fuzzBytes(data, size)
    guard let file = try? SafeTensorsFile.parse(bytes: bytes, source: "fuzz") else { return 0 }
    for name in file.names {
        guard let info = file.info(name) else { fatalError("listed tensor \(name) has no info") }
        switch info.dtype {
        case .F32: _ = try? file.floats(name)
        case .F64: _ = try? file.doubles(name)
        case .I32: _ = try? file.int32s(name)
        default: _ = try? file.withRawBytes(name) { $0.count }
        }
    }
    return 0
}

/// SwiftPM names an executable's entry point `<module>_main`: hand control to libFuzzer.
@_cdecl("FuzzSafeTensors_main")
public func entry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt { runFuzzer(argc, argv, fuzzSafeTensors) }
