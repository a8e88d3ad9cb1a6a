#if canImport(Glibc)
    import Glibc
#endif
import COpenBLAS
import Foundation

/// OpenBLAS (DYNAMIC_ARCH) picks its kernels from the CPU model. A CPU newer than the library
/// (Debian 12's OpenBLAS 0.3.21 on Intel Emerald Rapids, model 207) falls back to the generic
/// `Prescott` kernels, which run this toolkit's matrix products about 3 times slower than the
/// AVX-512 ones. The choice can only be changed before the library loads (`OPENBLAS_CORETYPE`),
/// so the command-line tool re-executes itself once with the right core type when that happens.
public enum BLASCore {
    /// The kernel set OpenBLAS uses in this process.
    public static var current: String { openblas_get_corename().map { String(cString: $0) } ?? "unknown" }

    /// Kernel sets OpenBLAS falls back to for CPUs it does not know.
    static let generic: Set<String> = ["prescott", "core2", "nehalem", "katmai", "coppermine", "northwood", "banias", "atom"]

    /// The core type this CPU should use when OpenBLAS fell back to a generic one: SkylakeX with
    /// AVX-512 (F, BW, VL, DQ), Haswell with AVX2 and FMA; nil otherwise (or when it did not fall back).
    public static func recommended(cpuFlags: Set<String>, current: String) -> String? {
        guard generic.contains(current.lowercased()) else { return nil }
        if ["avx512f", "avx512bw", "avx512vl", "avx512dq"].allSatisfy(cpuFlags.contains) { return "SkylakeX" }
        if ["avx2", "fma"].allSatisfy(cpuFlags.contains) { return "Haswell" }
        return nil
    }

    /// The CPU's feature flags (`/proc/cpuinfo`).
    static var cpuFlags: Set<String> {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return [] }
        for line in text.split(separator: "\n") where line.hasPrefix("flags") {
            return Set(line.split(separator: ":").last?.split(separator: " ").map(String.init) ?? [])
        }
        return []
    }

    /// Call first thing in `main`: when OpenBLAS fell back to generic kernels on a CPU with AVX2 or
    /// AVX-512 and `OPENBLAS_CORETYPE` is not set, sets it and re-executes the same binary with the
    /// same arguments (once; an explicit `OPENBLAS_CORETYPE` is always respected). Returns if nothing
    /// needs doing or the re-execution is impossible.
    public static func reexecIfGeneric() {
        guard getenv("OPENBLAS_CORETYPE") == nil, let core = recommended(cpuFlags: cpuFlags, current: current) else { return }
        setenv("OPENBLAS_CORETYPE", core, 1)
        let args = CommandLine.arguments
        var cargs: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) } + [nil]
        execv("/proc/self/exe", &cargs)
        // execv returned: carry on with the generic kernels (results are still correct).
        unsetenv("OPENBLAS_CORETYPE")
    }
}
