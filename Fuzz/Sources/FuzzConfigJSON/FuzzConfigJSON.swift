import FuzzSupport
import RMoECore
import RMoERuns

/// A config file's text: the strict JSON reader, the field table and validation (with the memory
/// estimate, never an allocation). An accepted config must survive its own JSON round trip.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfigJSON(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: data == nil ? 0 : size), as: UTF8.self)
    guard let c = try? RunConfig.fromJSON(text, origin: "fuzz") else { return 0 }
    guard (try? c.validate()) != nil else { return 0 }
    _ = c.model.estimatedBytes(scalarBytes: 4, optimizer: true)
    guard let again = try? RunConfig.fromJSON(c.jsonText, origin: "round trip"), again == c else {
        fatalError("a valid config does not survive its JSON round trip")
    }
    return 0
}

/// SwiftPM names an executable's entry point `<module>_main`: hand control to libFuzzer.
@_cdecl("FuzzConfigJSON_main")
public func entry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt { runFuzzer(argc, argv, fuzzConfigJSON) }
