/// What the running binary was built from: the toolkit's version and the git commit of the source
/// tree (and whether that tree had uncommitted changes), written by `BuildInfoPlugin` at build time.
public enum BuildInfo {
    /// The toolkit's version (semantic versioning; raised with each landed change of the file formats or the CLI).
    public static let version = "0.5.0"
    /// Full git commit of the source tree, or "unknown" when it was built outside a git checkout.
    public static let commit = GeneratedBuildInfo.commit
    /// Whether tracked files differed from `commit` when the binary was built.
    public static let dirty = GeneratedBuildInfo.dirty

    /// "0.5.0 (abc123def456)" or "0.5.0 (abc123def456, dirty)".
    public static var description: String {
        let short = commit == "unknown" ? commit : String(commit.prefix(12))
        return "\(version) (\(short)\(dirty ? ", dirty" : ""))"
    }
}
