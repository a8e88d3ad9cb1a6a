/// The one error type a user can cause. `message` is a single line that names the cause and the fix,
/// for example `unknown corpus 'wiki'; use one of: synthetic, wikitext2, wikitext2-bytes, enwik8`.
/// Library code throws it; only the command line turns it into an exit status.
public struct RMoEError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
