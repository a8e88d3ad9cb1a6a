import Foundation

// The digests the corpus checks need, and nothing else: MD5 (published for enwik8) and SHA-1
// (published for WikiText's files). CRC-32, for gzip and zip, comes from zlib (Zlib.swift).
// Both digests are only for checking published checksums; neither is collision-safe.

/// Lower-case hexadecimal spelling of a digest.
fileprivate func hexString(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var out = [UInt8]()
    out.reserveCapacity(bytes.count * 2)
    for b in bytes {
        out.append(digits[Int(b >> 4)])
        out.append(digits[Int(b & 15)])
    }
    return String(decoding: out, as: UTF8.self)
}

protocol BlockHash {
    var pending: [UInt8] { get set }
    var length: UInt64 { get set }
    mutating func compress(_ block: UnsafeRawPointer)
}

/// The buffering shared by the 64-byte-block hashes (MD5, SHA-1): whole blocks are compressed
/// straight from the caller's memory; a partial block waits in `pending`.
/// A streaming digest: feed bytes, read the digest.
public protocol Digest {
    init()
    /// Feeds more message bytes.
    mutating func update(_ bytes: UnsafeRawBufferPointer)
    /// The digest of everything fed so far (the hasher itself is left unchanged).
    func finalize() -> [UInt8]
}

extension Digest {
    /// Feeds more message bytes.
    public mutating func update(_ bytes: [UInt8]) { bytes.withUnsafeBytes { update($0) } }
    /// Lower-case hex of the digest so far.
    public var hexDigest: String { hexString(finalize()) }
    /// Lower-case hex of a digest.
    public static func hex(_ bytes: [UInt8]) -> String { hexString(bytes) }
    /// The digest of `bytes` in one call.
    public static func hash(_ bytes: [UInt8]) -> [UInt8] { var h = Self(); h.update(bytes); return h.finalize() }
}

extension BlockHash {
    mutating func absorb(_ bytes: UnsafeRawBufferPointer) {
        guard var p = bytes.baseAddress, bytes.count > 0 else { return }
        var n = bytes.count
        length &+= UInt64(n)
        if !pending.isEmpty {
            let take = min(64 - pending.count, n)
            pending.append(contentsOf: UnsafeRawBufferPointer(start: p, count: take))
            p += take
            n -= take
            if pending.count == 64 {
                let block = pending
                block.withUnsafeBytes { compress($0.baseAddress!) }  // 64 bytes, never empty
                pending.removeAll(keepingCapacity: true)
            }
        }
        while n >= 64 {
            compress(p)
            p += 64
            n -= 64
        }
        if n > 0 { pending.append(contentsOf: UnsafeRawBufferPointer(start: p, count: n)) }
    }

    /// Appends the 0x80 terminator, zero padding and the 8-byte bit length, compressing the
    /// final block(s).
    mutating func pad(bigEndianLength: Bool) {
        let bits = length &* 8
        var tail = pending
        tail.append(0x80)
        while tail.count % 64 != 56 { tail.append(0) }
        for i in 0..<8 {
            let shift = bigEndianLength ? UInt64(56 - 8 * i) : UInt64(8 * i)
            tail.append(UInt8(truncatingIfNeeded: bits >> shift))
        }
        tail.withUnsafeBytes { raw in
            var off = 0
            while off < raw.count {
                compress(raw.baseAddress! + off)  // tail has 64 or 128 bytes
                off += 64
            }
        }
        pending.removeAll()
    }
}

/// Streaming MD5 (RFC 1321). Only for checking published checksums; MD5 is not collision-safe.
///
///     var h = MD5(); h.update(bytes); let hex = MD5.hex(h.finalize())
public struct MD5: Digest, BlockHash, Sendable {
    var state: (UInt32, UInt32, UInt32, UInt32) = (0x6745_2301, 0xEFCD_AB89, 0x98BA_DCFE, 0x1032_5476)
    var pending: [UInt8] = []
    var length: UInt64 = 0

    public init() { pending.reserveCapacity(64) }
    public mutating func update(_ bytes: UnsafeRawBufferPointer) { absorb(bytes) }

    /// The 16-byte digest of everything fed so far (the hasher itself is left unchanged).
    public func finalize() -> [UInt8] {
        var copy = self
        copy.pad(bigEndianLength: false)
        var out = [UInt8]()
        for w in [copy.state.0, copy.state.1, copy.state.2, copy.state.3] {
            for i in 0..<4 { out.append(UInt8(truncatingIfNeeded: w >> UInt32(8 * i))) }
        }
        return out
    }

    @inline(__always) private static func rotl(_ x: UInt32, _ s: UInt32) -> UInt32 { (x << s) | (x >> (32 - s)) }
    @inline(__always) private static func ff(_ a: inout UInt32, _ b: UInt32, _ c: UInt32, _ d: UInt32, _ x: UInt32, _ s: UInt32, _ t: UInt32) {
        a = b &+ rotl(a &+ (d ^ (b & (c ^ d))) &+ x &+ t, s)
    }
    @inline(__always) private static func gg(_ a: inout UInt32, _ b: UInt32, _ c: UInt32, _ d: UInt32, _ x: UInt32, _ s: UInt32, _ t: UInt32) {
        a = b &+ rotl(a &+ (c ^ (d & (b ^ c))) &+ x &+ t, s)
    }
    @inline(__always) private static func hh(_ a: inout UInt32, _ b: UInt32, _ c: UInt32, _ d: UInt32, _ x: UInt32, _ s: UInt32, _ t: UInt32) {
        a = b &+ rotl(a &+ (b ^ c ^ d) &+ x &+ t, s)
    }
    @inline(__always) private static func ii(_ a: inout UInt32, _ b: UInt32, _ c: UInt32, _ d: UInt32, _ x: UInt32, _ s: UInt32, _ t: UInt32) {
        a = b &+ rotl(a &+ (c ^ (b | ~d)) &+ x &+ t, s)
    }

    /// One 64-byte block, fully unrolled (four rounds of sixteen steps).
    mutating func compress(_ p: UnsafeRawPointer) {
        @inline(__always) func w(_ i: Int) -> UInt32 { UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)) }
        let x0 = w(0), x1 = w(1), x2 = w(2), x3 = w(3), x4 = w(4), x5 = w(5), x6 = w(6), x7 = w(7)
        let x8 = w(8), x9 = w(9), x10 = w(10), x11 = w(11), x12 = w(12), x13 = w(13), x14 = w(14), x15 = w(15)
        var (a, b, c, d) = state
        let ff = MD5.ff, gg = MD5.gg, hh = MD5.hh, ii = MD5.ii
        ff(&a, b, c, d, x0, 7, 0xd76aa478); ff(&d, a, b, c, x1, 12, 0xe8c7b756)
        ff(&c, d, a, b, x2, 17, 0x242070db); ff(&b, c, d, a, x3, 22, 0xc1bdceee)
        ff(&a, b, c, d, x4, 7, 0xf57c0faf); ff(&d, a, b, c, x5, 12, 0x4787c62a)
        ff(&c, d, a, b, x6, 17, 0xa8304613); ff(&b, c, d, a, x7, 22, 0xfd469501)
        ff(&a, b, c, d, x8, 7, 0x698098d8); ff(&d, a, b, c, x9, 12, 0x8b44f7af)
        ff(&c, d, a, b, x10, 17, 0xffff5bb1); ff(&b, c, d, a, x11, 22, 0x895cd7be)
        ff(&a, b, c, d, x12, 7, 0x6b901122); ff(&d, a, b, c, x13, 12, 0xfd987193)
        ff(&c, d, a, b, x14, 17, 0xa679438e); ff(&b, c, d, a, x15, 22, 0x49b40821)
        gg(&a, b, c, d, x1, 5, 0xf61e2562); gg(&d, a, b, c, x6, 9, 0xc040b340)
        gg(&c, d, a, b, x11, 14, 0x265e5a51); gg(&b, c, d, a, x0, 20, 0xe9b6c7aa)
        gg(&a, b, c, d, x5, 5, 0xd62f105d); gg(&d, a, b, c, x10, 9, 0x02441453)
        gg(&c, d, a, b, x15, 14, 0xd8a1e681); gg(&b, c, d, a, x4, 20, 0xe7d3fbc8)
        gg(&a, b, c, d, x9, 5, 0x21e1cde6); gg(&d, a, b, c, x14, 9, 0xc33707d6)
        gg(&c, d, a, b, x3, 14, 0xf4d50d87); gg(&b, c, d, a, x8, 20, 0x455a14ed)
        gg(&a, b, c, d, x13, 5, 0xa9e3e905); gg(&d, a, b, c, x2, 9, 0xfcefa3f8)
        gg(&c, d, a, b, x7, 14, 0x676f02d9); gg(&b, c, d, a, x12, 20, 0x8d2a4c8a)
        hh(&a, b, c, d, x5, 4, 0xfffa3942); hh(&d, a, b, c, x8, 11, 0x8771f681)
        hh(&c, d, a, b, x11, 16, 0x6d9d6122); hh(&b, c, d, a, x14, 23, 0xfde5380c)
        hh(&a, b, c, d, x1, 4, 0xa4beea44); hh(&d, a, b, c, x4, 11, 0x4bdecfa9)
        hh(&c, d, a, b, x7, 16, 0xf6bb4b60); hh(&b, c, d, a, x10, 23, 0xbebfbc70)
        hh(&a, b, c, d, x13, 4, 0x289b7ec6); hh(&d, a, b, c, x0, 11, 0xeaa127fa)
        hh(&c, d, a, b, x3, 16, 0xd4ef3085); hh(&b, c, d, a, x6, 23, 0x04881d05)
        hh(&a, b, c, d, x9, 4, 0xd9d4d039); hh(&d, a, b, c, x12, 11, 0xe6db99e5)
        hh(&c, d, a, b, x15, 16, 0x1fa27cf8); hh(&b, c, d, a, x2, 23, 0xc4ac5665)
        ii(&a, b, c, d, x0, 6, 0xf4292244); ii(&d, a, b, c, x7, 10, 0x432aff97)
        ii(&c, d, a, b, x14, 15, 0xab9423a7); ii(&b, c, d, a, x5, 21, 0xfc93a039)
        ii(&a, b, c, d, x12, 6, 0x655b59c3); ii(&d, a, b, c, x3, 10, 0x8f0ccc92)
        ii(&c, d, a, b, x10, 15, 0xffeff47d); ii(&b, c, d, a, x1, 21, 0x85845dd1)
        ii(&a, b, c, d, x8, 6, 0x6fa87e4f); ii(&d, a, b, c, x15, 10, 0xfe2ce6e0)
        ii(&c, d, a, b, x6, 15, 0xa3014314); ii(&b, c, d, a, x13, 21, 0x4e0811a1)
        ii(&a, b, c, d, x4, 6, 0xf7537e82); ii(&d, a, b, c, x11, 10, 0xbd3af235)
        ii(&c, d, a, b, x2, 15, 0x2ad7d2bb); ii(&b, c, d, a, x9, 21, 0xeb86d391)
        state = (state.0 &+ a, state.1 &+ b, state.2 &+ c, state.3 &+ d)
    }
}

/// Streaming SHA-1 (FIPS 180-4).
///
///     var h = SHA1(); h.update(bytes); let hex = SHA1.hex(h.finalize())
public struct SHA1: Digest, BlockHash, Sendable {
    var state: (UInt32, UInt32, UInt32, UInt32, UInt32) = (0x6745_2301, 0xEFCD_AB89, 0x98BA_DCFE, 0x1032_5476, 0xC3D2_E1F0)
    var pending: [UInt8] = []
    var length: UInt64 = 0

    public init() { pending.reserveCapacity(64) }
    public mutating func update(_ bytes: UnsafeRawBufferPointer) { absorb(bytes) }

    /// The 20-byte digest of everything fed so far (the hasher itself is left unchanged).
    public func finalize() -> [UInt8] {
        var copy = self
        copy.pad(bigEndianLength: true)
        var out = [UInt8]()
        for w in [copy.state.0, copy.state.1, copy.state.2, copy.state.3, copy.state.4] {
            for i in 0..<4 { out.append(UInt8(truncatingIfNeeded: w >> UInt32(24 - 8 * i))) }
        }
        return out
    }

    /// One 64-byte block: the 80-word schedule and 80 rounds.
    mutating func compress(_ p: UnsafeRawPointer) {
        var w = [UInt32](repeating: 0, count: 80)
        for i in 0..<16 { w[i] = UInt32(bigEndian: p.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)) }
        for i in 16..<80 {
            let x = w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]
            w[i] = (x << 1) | (x >> 31)
        }
        var (a, b, c, d, e) = state
        for i in 0..<80 {
            let f: UInt32, k: UInt32
            switch i {
            case 0..<20: f = (b & c) | (~b & d); k = 0x5A82_7999
            case 20..<40: f = b ^ c ^ d; k = 0x6ED9_EBA1
            case 40..<60: f = (b & c) | (b & d) | (c & d); k = 0x8F1B_BCDC
            default: f = b ^ c ^ d; k = 0xCA62_C1D6
            }
            let t = ((a << 5) | (a >> 27)) &+ f &+ e &+ k &+ w[i]
            e = d; d = c; c = (b << 30) | (b >> 2); b = a; a = t
        }
        state = (state.0 &+ a, state.1 &+ b, state.2 &+ c, state.3 &+ d, state.4 &+ e)
    }
}
