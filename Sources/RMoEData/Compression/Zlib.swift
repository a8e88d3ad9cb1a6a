import CZlib
import Foundation
import RMoECore

// DEFLATE decoding through the system zlib, and the two containers the corpora arrive in: gzip
// (RFC 1952, every member's CRC-32 and length checked by zlib) and zip (PKWARE APPNOTE, the
// directory read here, each entry inflated by zlib). Every input is bounded: a truncated or
// corrupt file throws an `RMoEError`, and no output grows past the caller's cap.

/// CRC-32 (the zip and gzip polynomial), from zlib.
public enum CRC32 {
    public static func checksum(_ bytes: UnsafeRawBufferPointer, initial: UInt32 = 0) -> UInt32 {
        var crc = UInt(initial)
        var p = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), n = bytes.count
        while n > 0, let q = p {
            let chunk = min(n, Int(UInt32.max))
            crc = CZlib.crc32(crc, q, UInt32(chunk))
            p = q + chunk; n -= chunk
        }
        return UInt32(truncatingIfNeeded: crc)
    }

    public static func checksum(_ bytes: [UInt8], initial: UInt32 = 0) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0, initial: initial) }
    }
}

/// Streams through zlib's inflate with an output cap.
enum Zlib {
    enum Format { case raw, gzip }

    /// Inflates one stream (raw DEFLATE, or one gzip member) starting at the beginning of `input`,
    /// appending at most `limit` bytes in all to `output`; returns the output and how many input
    /// bytes the stream used. `what` and `context` make the error messages.
    static func inflate(
        _ input: UnsafeRawBufferPointer, format: Format, limit: Int, what: String, context: String,
        appendingTo existing: [UInt8] = []
    ) throws -> (output: [UInt8], used: Int) {
        var out = existing
        var s = z_stream()
        guard rk_inflate_init2(&s, format == .raw ? -15 : 15 + 16) == Z_OK else {
            throw RMoEError("\(what): zlib could not start (out of memory?)")
        }
        defer { inflateEnd(&s) }
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        var offset = 0
        var status = Z_OK
        repeat {
            let take = min(input.count - offset, Int(UInt32.max))
            s.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: UInt8.self).advanced(by: offset))
            s.avail_in = UInt32(take)
            let before = Int(s.avail_in)
            status = chunk.withUnsafeMutableBufferPointer { c -> Int32 in
                s.next_out = c.baseAddress
                s.avail_out = UInt32(c.count)
                return CZlib.inflate(&s, Z_NO_FLUSH)
            }
            offset += before - Int(s.avail_in)
            let produced = chunk.count - Int(s.avail_out)
            if out.count - existing.count + produced > limit {
                throw RMoEError(
                    "\(what) decompresses to more than \(limit) bytes (the cap; \(context)): it is a decompression bomb or not the expected file; check the file (RMOE_MAX_DECOMPRESSED_BYTES raises the cap)"
                )
            }
            out.append(contentsOf: chunk[0..<produced])
            switch status {
            case Z_OK, Z_STREAM_END: break
            case Z_BUF_ERROR where offset >= input.count:
                throw RMoEError("\(what) is truncated (the compressed stream of \(context) ends early); the file is incomplete: fetch it again")
            case Z_BUF_ERROR: break
            default:
                // zlib's wording, with the gzip trailer checks named as the format names them.
                let zmsg = s.msg.map { String(cString: $0) } ?? "zlib error \(status)"
                let why = ["incorrect data check": "CRC-32 mismatch", "incorrect length check": "length mismatch"][zmsg] ?? zmsg
                throw RMoEError("\(what) is corrupt (\(why) in \(context)); the file is damaged: fetch it again")
            }
            if status == Z_OK && offset >= input.count && produced == 0 {
                throw RMoEError("\(what) is truncated (the compressed stream of \(context) ends early); the file is incomplete: fetch it again")
            }
        } while status != Z_STREAM_END
        return (out, offset)
    }
}

/// Raw DEFLATE streams (no zlib or gzip wrapper).
public enum Inflate {
    /// Decodes a complete raw DEFLATE stream of at most `limit` bytes.
    public static func decompress(_ data: [UInt8], limit: Int = Int.max) throws -> [UInt8] {
        try data.withUnsafeBytes { try Zlib.inflate($0, format: .raw, limit: limit, what: "deflate data", context: "the stream").output }
    }
}

/// gzip files (RFC 1952).
public enum Gzip {
    /// Decompresses every member of a gzip file (at most `limit` bytes in all) and returns their
    /// concatenated contents; zlib checks each member's header, CRC-32 and length. Zero bytes after
    /// the last member (tape padding) are ignored.
    public static func decompress(_ data: [UInt8], limit: Int = Int.max) throws -> [UInt8] {
        guard data.count >= 2, data[0] == 0x1F, data[1] == 0x8B else {
            throw RMoEError("not gzip data (missing the 1f 8b magic bytes); pass a .gz file, or use Zip.extract for .zip files")
        }
        return try data.withUnsafeBytes { raw in
            var out: [UInt8] = []
            var p = 0, member = 1
            while true {
                guard raw.count - p >= 2, raw[p] == 0x1F, raw[p + 1] == 0x8B else {
                    throw RMoEError("gzip data is corrupt (member \(member) lacks the 1f 8b magic bytes); the file is damaged: fetch it again")
                }
                let r = try Zlib.inflate(
                    UnsafeRawBufferPointer(rebasing: raw[p...]), format: .gzip, limit: limit,
                    what: "gzip data", context: "member \(member)", appendingTo: out)
                out = r.output
                p += r.used
                if raw[p...].allSatisfy({ $0 == 0 }) { break }
                member += 1
            }
            return out
        }
    }
}

/// Little-endian field readers; the caller has checked the bounds.
extension UnsafeRawBufferPointer {
    @inline(__always) fileprivate func le16(_ at: Int) -> Int { Int(self[at]) | Int(self[at + 1]) << 8 }
    @inline(__always) fileprivate func le32(_ at: Int) -> Int { le16(at) | le16(at + 2) << 16 }
}

/// zip archives (PKWARE APPNOTE): stored (method 0) and deflated (method 8) entries, found
/// through the central directory. ZIP64, encryption and multi-disk archives are not supported.
public enum Zip {
    /// One central-directory record.
    struct Entry {
        var name: String
        var flags: Int, method: Int, crc: UInt32
        var compressedSize: Int, size: Int, localHeader: Int
    }

    /// Extracts the entry named `entry` (nil: the first entry that is not a directory) and
    /// verifies its CRC-32.
    public static func extract(_ data: [UInt8], entry: String? = nil, limit: Int = Int.max) throws -> [UInt8] {
        try data.withUnsafeBytes { raw in
            let entries = try centralDirectory(raw)
            guard let e = entries.first(where: { entry == nil ? !$0.name.hasSuffix("/") : $0.name == entry }) else {
                let names = entries.prefix(10).map(\.name).joined(separator: ", ")
                if let entry {
                    throw RMoEError("zip archive has no entry '\(entry)'; use one of: \(names)")
                }
                throw RMoEError("zip archive has no file entries; check that the download is the right archive")
            }
            guard e.size <= limit else {
                throw RMoEError(
                    "zip entry '\(e.name)' holds \(e.size) bytes, more than the cap of \(limit); it is not the expected file (RMOE_MAX_DECOMPRESSED_BYTES raises the cap)"
                )
            }
            return try extract(raw, e)
        }
    }

    /// The names of the entries, in central-directory order.
    public static func entryNames(_ data: [UInt8]) throws -> [String] {
        try data.withUnsafeBytes { try centralDirectory($0).map(\.name) }
    }

    static func corrupt(_ why: String) -> RMoEError {
        RMoEError("zip archive is corrupt (\(why)); the file is damaged or incomplete: fetch it again")
    }

    /// Finds the end-of-central-directory record (searching back over a comment of up to 64 KiB)
    /// and reads every central-directory record.
    static func centralDirectory(_ raw: UnsafeRawBufferPointer) throws -> [Entry] {
        let n = raw.count
        var eocd = -1
        if n >= 22 {
            var p = n - 22
            while p >= max(0, n - 22 - 65535) {
                if raw.le32(p) == 0x0605_4B50 && p + 22 + raw.le16(p + 20) <= n { eocd = p; break }
                p -= 1
            }
        }
        guard eocd >= 0 else {
            throw RMoEError("not a zip archive (no end-of-central-directory record); pass a .zip file, or use Gzip.decompress for .gz files")
        }
        let count = raw.le16(eocd + 10), size = raw.le32(eocd + 12), offset = raw.le32(eocd + 16)
        if count == 0xFFFF || size == 0xFFFF_FFFF || offset == 0xFFFF_FFFF {
            throw RMoEError("zip archive uses ZIP64, which is not supported; extract it with unzip and pass the file itself")
        }
        guard raw.le16(eocd + 4) == 0, raw.le16(eocd + 6) == 0 else {
            throw RMoEError("zip archive spans several disks, which is not supported; join the parts with zip -s 0 first")
        }
        guard offset + size <= eocd else { throw corrupt("central directory lies outside the file") }
        var entries: [Entry] = []
        var p = offset
        for _ in 0..<count {
            guard p + 46 <= eocd, raw.le32(p) == 0x0201_4B50 else { throw corrupt("bad central directory record") }
            let nameLength = raw.le16(p + 28), extraLength = raw.le16(p + 30), commentLength = raw.le16(p + 32)
            guard p + 46 + nameLength <= eocd else { throw corrupt("bad central directory record") }
            let name = String(decoding: UnsafeRawBufferPointer(rebasing: raw[(p + 46)..<(p + 46 + nameLength)]), as: UTF8.self)
            entries.append(
                Entry(
                    name: name, flags: raw.le16(p + 8), method: raw.le16(p + 10), crc: UInt32(raw.le32(p + 16)),
                    compressedSize: raw.le32(p + 20), size: raw.le32(p + 24), localHeader: raw.le32(p + 42)))
            p += 46 + nameLength + extraLength + commentLength
        }
        return entries
    }

    /// Reads one entry's data through its local header (sizes come from the central directory,
    /// so entries with a data descriptor need no special handling).
    static func extract(_ raw: UnsafeRawBufferPointer, _ e: Entry) throws -> [UInt8] {
        if e.flags & 1 != 0 {
            throw RMoEError("zip entry '\(e.name)' is encrypted, which is not supported; extract it with unzip and pass the file itself")
        }
        let h = e.localHeader
        guard h + 30 <= raw.count, raw.le32(h) == 0x0403_4B50 else { throw corrupt("bad local header for '\(e.name)'") }
        let start = h + 30 + raw.le16(h + 26) + raw.le16(h + 28)
        guard start + e.compressedSize <= raw.count else { throw corrupt("data of '\(e.name)' runs past the end of the file") }
        let body = UnsafeRawBufferPointer(rebasing: raw[start..<(start + e.compressedSize)])
        let out: [UInt8]
        switch e.method {
        case 0:
            guard e.compressedSize == e.size else { throw corrupt("stored entry '\(e.name)' has mismatched sizes") }
            out = Array(body)
        case 8:
            // The declared size caps the output: an entry that inflates past it is corrupt (or a bomb).
            out = try Zlib.inflate(body, format: .raw, limit: e.size, what: "zip archive", context: "entry '\(e.name)'").output
        default:
            throw RMoEError(
                "zip entry '\(e.name)' uses compression method \(e.method), not stored (0) or deflate (8); extract it with unzip and pass the file itself")
        }
        guard out.count == e.size else { throw corrupt("size mismatch in '\(e.name)'") }
        guard CRC32.checksum(out) == e.crc else { throw corrupt("CRC-32 mismatch in '\(e.name)'") }
        return out
    }
}
