import Foundation
import RMoECore

/// Where a run reports progress. On a terminal one status line is redrawn in place; when output
/// is piped, plain lines are printed (one per log interval), so logs stay readable.
public final class ProgressPrinter: @unchecked Sendable {
    public let interactive: Bool
    public let quiet: Bool
    /// Text put before each status line (a sweep's "run 3/24").
    public var prefix = ""
    private var lastDraw = 0.0
    private var lineOpen = false

    public init(interactive: Bool = System.stdoutIsTerminal, quiet: Bool = false) {
        self.interactive = interactive
        self.quiet = quiet
    }

    /// A transient status (redrawn at most 5 times a second on a terminal; ignored when piped).
    public func status(_ text: String, force: Bool = false) {
        guard interactive, !quiet else { return }
        let now = System.now()
        if !force && now - lastDraw < 0.2 { return }
        lastDraw = now
        print("\r\u{1B}[K" + prefix + text, terminator: "")
        System.flushStdout()
        lineOpen = true
    }

    /// A permanent line (a plain log line when piped; printed above the status line on a terminal).
    public func line(_ text: String) {
        guard !quiet else { return }
        if lineOpen { print("\r\u{1B}[K", terminator: ""); lineOpen = false }
        print(prefix + text)
        System.flushStdout()
    }

    /// Ends the status line.
    public func finish() {
        if lineOpen { print(""); lineOpen = false }
    }
}

/// "1h02m", "3m12s", "45s".
public func formatDuration(_ seconds: Double) -> String {
    guard seconds.isFinite, seconds >= 0 else { return "?" }
    let s = Int(seconds.rounded())
    if s >= 3600 { return String(format: "%dh%02dm", s / 3600, (s % 3600) / 60) }
    if s >= 60 { return String(format: "%dm%02ds", s / 60, s % 60) }
    return "\(s)s"
}

/// "12.3k", "1.05M".
public func formatCount(_ x: Double) -> String {
    if x >= 1e6 { return String(format: "%.2fM", x / 1e6) }
    if x >= 1e3 { return String(format: "%.1fk", x / 1e3) }
    return String(format: "%.0f", x)
}
