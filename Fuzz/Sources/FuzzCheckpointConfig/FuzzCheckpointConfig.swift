import FuzzSupport
import RMoECore
import RMoERuns

/// Config inference from a foreign checkpoint's shapes (`rmoe grads`), on arbitrary safetensors
/// bytes: it must throw or give a config that validates, never trap.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCheckpointConfig(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = fuzzBytes(data, size)
    guard let file = try? SafeTensorsFile.parse(bytes: bytes, source: "fuzz") else { return 0 }
    for router in ["smoe", "rmoe", "dense"] {
        var base = RunConfig()
        base.model.router = router
        if let c = try? CheckpointConfig.infer(from: file, base: base) {
            if (try? c.model.validate()) == nil { fatalError("inferred config does not validate") }
            _ = c.model.estimatedBytes(scalarBytes: 4, optimizer: false)
        }
    }
    return 0
}

/// SwiftPM names an executable's entry point `<module>_main`: hand control to libFuzzer.
@_cdecl("FuzzCheckpointConfig_main")
public func entry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt { runFuzzer(argc, argv, fuzzCheckpointConfig) }
