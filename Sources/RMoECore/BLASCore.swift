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
/// On AMD Zen without AVX-512 (Zen 1 to 3) it picks `Haswell` over 0.3.21's own `Zen` set: on a
/// Zen 3 EPYC the Haswell set ran single-threaded sgemm at the step's shapes 5 to 10% faster, the
/// SMALL training step 1 to 2% and the TINY one 2 to 6% faster, in interleaved runs (README, Performance).
public enum BLASCore {
    /// The kernel set OpenBLAS uses in this process.
    public static var current: String { openblas_get_corename().map { String(cString: $0) } ?? "unknown" }

    /// Kernel sets OpenBLAS falls back to for CPUs it does not know.
    static let generic: Set<String> = ["prescott", "core2", "nehalem", "katmai", "coppermine", "northwood", "banias", "atom"]

    /// The core type this CPU should use: when OpenBLAS fell back to a generic one, SkylakeX with
    /// AVX-512 (F, BW, VL, DQ), Haswell with AVX2 and FMA; Haswell for `Zen` without AVX-512 (the
    /// faster of the two sets there); nil otherwise.
    public static func recommended(cpuFlags: Set<String>, current: String) -> String? {
        if current.lowercased() == "zen" {
            return ["avx2", "fma"].allSatisfy(cpuFlags.contains) && !cpuFlags.contains("avx512f") ? "Haswell" : nil
        }
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

    /// Call first thing in `main`: when `recommended` names a better kernel set than the one
    /// OpenBLAS chose and `OPENBLAS_CORETYPE` is not set, sets it and re-executes the same binary with the
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
