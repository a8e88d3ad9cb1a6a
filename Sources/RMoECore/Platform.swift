#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Small facts about the process and the machine.
public enum System {
    /// Logical CPUs online.
    public static var coreCount: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }

    /// True when standard output is a terminal (progress lines are then redrawn in place).
    public static var stdoutIsTerminal: Bool { isatty(1) != 0 }

    /// Peak resident set size of this process, in bytes.
    public static var peakResidentBytes: Int {
        var usage = rusage()
        #if os(Linux)
            getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
            return Int(usage.ru_maxrss) * 1024
        #else
            getrusage(RUSAGE_SELF, &usage)
            return Int(usage.ru_maxrss)
        #endif
    }

    /// Monotonic time in seconds.
    public static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }

    /// Writes a line to standard error.
    public static func printError(_ line: String) {
        var s = line
        if !s.hasSuffix("\n") { s += "\n" }
        fflush(nil)
        s.utf8CString.withUnsafeBufferPointer { b in _ = write(2, b.baseAddress!, b.count - 1) }
    }

    /// Flushes standard output.
    public static func flushStdout() { fflush(nil) }
}
