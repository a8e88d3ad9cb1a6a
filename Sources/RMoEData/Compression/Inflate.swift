import Foundation
import RMoECore

// DEFLATE (RFC 1951) decoding plus the two containers the corpora arrive in: gzip (RFC 1952)
// and zip (PKWARE APPNOTE, no ZIP64). Pure Swift; every read of the input is bounds-checked, so
// truncated or corrupt files throw an `RMoEError` instead of trapping.
//
// The decoder is table-driven in the style of zlib's inflate_fast: a 64-bit bit buffer refilled
// eight bytes at a time, a 10-bit primary table for literal/length codes (8 bits for distances)
// with second-level tables for longer codes, and match copies done eight bytes at a time.

/// Why a DEFLATE stream could not be decoded; the containers turn it into an `RMoEError` that
/// names the file kind and the fix.
enum InflateFailure: Error {
    /// The input ended before the final block did.
    case truncated
    /// The stream breaks the format; the text says how.
    case corrupt(String)
    /// The output would pass the caller's cap (a decompression bomb, or the wrong file).
    case tooLarge(Int)
}

/// Growable output buffer with slack at the end, so a match can be copied in 8-byte words
/// without a bounds test per byte.
final class InflateOutput {
    private(set) var base: UnsafeMutablePointer<UInt8>
    private(set) var capacity: Int
    var count = 0
    /// Most bytes the output may hold; decoding stops with `.tooLarge` past it.
    let limit: Int

    init(capacityHint: Int, limit: Int = Int.max) {
        self.limit = limit
        capacity = max(min(capacityHint, limit), 1 << 16) + 512
        base = .allocate(capacity: capacity)
    }

    deinit { base.deallocate() }

    /// Makes room for at least `extra` more bytes past `count`.
    func reserve(_ extra: Int) {
        guard capacity - count < extra else { return }
        var newCapacity = capacity
        while newCapacity - count < extra { newCapacity += newCapacity / 2 + 4096 }
        let fresh = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        fresh.update(from: base, count: count)
        base.deallocate()
        base = fresh
        capacity = newCapacity
    }

    func append(_ bytes: UnsafeRawBufferPointer) {
        reserve(bytes.count)
        if let src = bytes.baseAddress, bytes.count > 0 {
            UnsafeMutableRawPointer(base + count).copyMemory(from: src, byteCount: bytes.count)
            count += bytes.count
        }
    }

    /// The bytes `start..<count` as an array.
    func bytes(from start: Int = 0) -> [UInt8] {
        Array(UnsafeBufferPointer(start: base + start, count: count - start))
    }
}

/// LSB-first bit reader over the input. `pos` counts bytes moved into `buf`, including up to
/// eight virtual zero bytes past the end, so the hot loop never tests for the end of input;
/// whether real data ran out is decided when the stream ends (see `bytePosition`).
struct BitReader {
    let base: UnsafePointer<UInt8>
    let end: Int
    var pos: Int
    var buf: UInt64 = 0
    /// Number of valid bits in `buf` (bits above it may hold copies of bytes at `pos...`).
    var count = 0
    var overrun = 0

    init(base: UnsafePointer<UInt8>, end: Int, pos: Int) {
        self.base = base; self.end = end; self.pos = pos
    }

    /// Leaves at least 56 valid bits in `buf`.
    @inline(__always) mutating func refill() throws(InflateFailure) {
        if pos &+ 8 <= end {
            let word = UInt64(littleEndian: UnsafeRawPointer(base + pos).loadUnaligned(as: UInt64.self))
            buf |= word &<< UInt64(count)
            pos &+= (63 &- count) &>> 3
            count |= 56
        } else {
            try refillSlow()
        }
    }

    mutating func refillSlow() throws(InflateFailure) {
        while count <= 56 {
            if pos < end {
                buf |= UInt64(base[pos]) &<< UInt64(count)
            } else {
                overrun += 1
                if overrun > 8 { throw .truncated }  // at least one virtual byte was consumed
            }
            pos += 1
            count += 8
        }
    }

    /// Takes `n` (<= 32) bits.
    @inline(__always) mutating func bits(_ n: Int) throws(InflateFailure) -> Int {
        if count < n { try refill() }
        let v = Int(truncatingIfNeeded: buf & ((1 << UInt64(n)) &- 1))
        buf &>>= UInt64(n)
        count &-= n
        return v
    }

    /// Drops the bits of a partly read byte and returns the offset of the next unread byte;
    /// throws if that lies past the real end of the input.
    mutating func alignedBytePosition() throws(InflateFailure) -> Int {
        let p = pos - count / 8
        buf = 0; count = 0; pos = p; overrun = 0
        if p > end { throw .truncated }
        return p
    }
}

/// Decoding tables. An entry is a `UInt32`: bits 0-7 the number of bits the code takes at its
/// level (for a link: the index width of the second-level table), bits 8-11 the number of extra
/// bits, bits 12-15 the kind, bits 16-31 the value (literal byte, base length or distance, or the
/// offset of the second-level table).
enum HuffmanTable {
    static let literal: UInt32 = 0, match: UInt32 = 1, endOfBlock: UInt32 = 2, link: UInt32 = 3, invalid: UInt32 = 4
    static let invalidEntry: UInt32 = invalid << 12

    static let lengthBase: [UInt32] = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59,
                                       67, 83, 99, 115, 131, 163, 195, 227, 258]
    static let lengthExtra: [UInt32] = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]
    static let distBase: [UInt32] = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769,
                                     1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577]
    static let distExtra: [UInt32] = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10,
                                      11, 11, 12, 12, 13, 13]

    /// Entry templates (without the code length) per symbol of each alphabet.
    static let literalTemplates: [UInt32] = (0..<288).map { s in
        if s < 256 { return UInt32(s) << 16 | literal << 12 }
        if s == 256 { return endOfBlock << 12 }
        if s < 286 { return lengthBase[s - 257] << 16 | match << 12 | lengthExtra[s - 257] << 8 }
        return invalidEntry
    }
    static let distanceTemplates: [UInt32] = (0..<32).map { s in
        s < 30 ? distBase[s] << 16 | match << 12 | distExtra[s] << 8 : invalidEntry
    }
    static let codeLengthTemplates: [UInt32] = (0..<19).map { UInt32($0) << 16 | literal << 12 }

    /// Builds the canonical Huffman decoding table for `lengths` (one code length per symbol,
    /// 0 = unused) into `table`. Over-subscribed codes are rejected; an incomplete code is only
    /// accepted as a single one-bit code, or no code at all when `allowEmpty` (distances).
    static func build(_ lengths: ArraySlice<UInt8>, templates: [UInt32], root: Int, allowEmpty: Bool,
                      into table: inout [UInt32]) throws(InflateFailure) {
        var lengthCount = [Int](repeating: 0, count: 16)
        for l in lengths { lengthCount[Int(l)] += 1 }
        lengthCount[0] = 0
        var left = 1, maxLength = 0, used = 0
        for l in 1...15 {
            left = left * 2 - lengthCount[l]
            if left < 0 { throw .corrupt("over-subscribed Huffman code") }
            if lengthCount[l] > 0 { maxLength = l }
            used += lengthCount[l]
        }
        if left > 0 && !(used == 1 && maxLength == 1) && !(used == 0 && allowEmpty) {
            throw .corrupt("incomplete Huffman code")
        }
        var next = [Int](repeating: 0, count: 16)
        var code = 0
        for l in 1...15 {
            code = (code + lengthCount[l - 1]) << 1
            next[l] = code
        }
        // Bit-reversed codes (DEFLATE sends Huffman codes most significant bit first).
        var reversed = [Int](repeating: 0, count: lengths.count)
        let rootSize = 1 << root, rootMask = rootSize - 1
        var subBits = [Int](repeating: 0, count: rootSize)
        for (i, l8) in lengths.enumerated() where l8 > 0 {
            let l = Int(l8)
            var c = next[l], r = 0
            next[l] += 1
            for _ in 0..<l { r = (r << 1) | (c & 1); c >>= 1 }
            reversed[i] = r
            if l > root { subBits[r & rootMask] = max(subBits[r & rootMask], l - root) }
        }
        table.removeAll(keepingCapacity: true)
        table.append(contentsOf: repeatElement(invalidEntry, count: rootSize))
        for prefix in 0..<rootSize where subBits[prefix] > 0 {
            table[prefix] = UInt32(table.count) << 16 | link << 12 | UInt32(subBits[prefix])
            table.append(contentsOf: repeatElement(invalidEntry, count: 1 << subBits[prefix]))
        }
        for (i, l8) in lengths.enumerated() where l8 > 0 {
            let l = Int(l8), r = reversed[i]
            let template = templates[i]
            if l <= root {
                var k = r
                while k < rootSize { table[k] = template | UInt32(l); k += 1 << l }
            } else {
                let linkEntry = table[r & rootMask]
                let offset = Int(linkEntry >> 16), width = Int(linkEntry & 0xFF)
                let sub = l - root
                var k = r >> root
                while k < 1 << width { table[offset + k] = template | UInt32(sub); k += 1 << sub }
            }
        }
    }
}

/// Raw DEFLATE streams (no zlib or gzip wrapper).
public enum Inflate {
    /// Decodes a complete raw DEFLATE stream of at most `limit` bytes.
    public static func decompress(_ data: [UInt8], limit: Int = Int.max) throws -> [UInt8] {
        let out = InflateOutput(capacityHint: data.count * 4, limit: limit)
        try data.withUnsafeBytes { raw in
            do throws(InflateFailure) {
                _ = try inflate(raw, from: 0, into: out)
            } catch {
                throw describe(error, what: "deflate data", context: "the stream")
            }
        }
        return out.bytes()
    }

    /// Turns a decoder failure into a one-line error about `what` ("gzip data") at `context`
    /// ("member 2").
    static func describe(_ failure: InflateFailure, what: String, context: String) -> RMoEError {
        switch failure {
        case .truncated:
            RMoEError("\(what) is truncated (the compressed stream of \(context) ends early); the file is incomplete: fetch it again")
        case .corrupt(let why):
            RMoEError("\(what) is corrupt (\(why) in \(context)); the file is damaged: fetch it again")
        case .tooLarge(let limit):
            RMoEError("\(what) decompresses to more than \(limit) bytes (the cap; \(context)): it is a decompression bomb or not the expected file; check the file (RMOE_MAX_DECOMPRESSED_BYTES raises the cap)")
        }
    }

    /// Decodes the DEFLATE stream starting at byte `start` of `input`, appending to `out`.
    /// Matches may only reach back to the output's length at entry. Returns the offset of the
    /// first byte after the stream.
    static func inflate(_ input: UnsafeRawBufferPointer, from start: Int,
                        into out: InflateOutput) throws(InflateFailure) -> Int {
        guard let raw = input.baseAddress, start < input.count else { throw .truncated }
        var br = BitReader(base: raw.assumingMemoryBound(to: UInt8.self), end: input.count, pos: start)
        let windowStart = out.count
        var litTable = [UInt32](), distTable = [UInt32](), codeTable = [UInt32]()
        litTable.reserveCapacity(2048); distTable.reserveCapacity(1024)
        var lengths = [UInt8](repeating: 0, count: 320)
        var last = false
        do throws(InflateFailure) {
            while !last {
                let header = try br.bits(3)
                last = header & 1 == 1
                switch header >> 1 {
                case 0:
                    var p = try br.alignedBytePosition()
                    guard p + 4 <= input.count else { throw .truncated }
                    let len = Int(input[p]) | Int(input[p + 1]) << 8
                    let nlen = Int(input[p + 2]) | Int(input[p + 3]) << 8
                    guard len == nlen ^ 0xFFFF else { throw .corrupt("stored block length check failed") }
                    p += 4
                    guard p + len <= input.count else { throw .truncated }
                    guard out.count + len <= out.limit else { throw .tooLarge(out.limit) }
                    out.append(UnsafeRawBufferPointer(rebasing: input[p..<(p + len)]))
                    br.pos = p + len
                    continue
                case 1:
                    for i in 0..<288 { lengths[i] = i < 144 ? 8 : i < 256 ? 9 : i < 280 ? 7 : 8 }
                    for i in 288..<320 { lengths[i] = 5 }
                    try HuffmanTable.build(lengths[0..<288], templates: HuffmanTable.literalTemplates, root: 10,
                                           allowEmpty: false, into: &litTable)
                    try HuffmanTable.build(lengths[288..<320], templates: HuffmanTable.distanceTemplates, root: 8,
                                           allowEmpty: true, into: &distTable)
                case 2:
                    try readDynamicHeader(&br, &lengths, &codeTable, &litTable, &distTable)
                default:
                    throw .corrupt("invalid block type 3")
                }
                try decodeBlock(&br, litTable, distTable, out, windowStart: windowStart)
            }
        } catch {
            if case .tooLarge = error { throw error }
            // Decoding the zero padding past a truncated input usually fails as "corrupt".
            if br.pos - br.count / 8 > input.count { throw .truncated }
            throw error
        }
        if out.count > out.limit { throw .tooLarge(out.limit) }
        return try br.alignedBytePosition()
    }

    /// Reads the code-length code and the literal/length and distance code lengths of a
    /// dynamic block, and builds both tables.
    static func readDynamicHeader(_ br: inout BitReader, _ lengths: inout [UInt8], _ codeTable: inout [UInt32],
                                  _ litTable: inout [UInt32], _ distTable: inout [UInt32]) throws(InflateFailure) {
        let nlen = try br.bits(5) + 257, ndist = try br.bits(5) + 1, ncode = try br.bits(4) + 4
        guard nlen <= 286, ndist <= 30 else { throw .corrupt("too many length or distance codes") }
        let order = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]
        var codeLengths = [UInt8](repeating: 0, count: 19)
        for i in 0..<ncode { codeLengths[order[i]] = UInt8(try br.bits(3)) }
        try HuffmanTable.build(codeLengths[...], templates: HuffmanTable.codeLengthTemplates, root: 7,
                               allowEmpty: false, into: &codeTable)
        var i = 0
        while i < nlen + ndist {
            try br.refill()
            let e = codeTable[Int(truncatingIfNeeded: br.buf & 0x7F)]
            if (e >> 12) & 0xF == HuffmanTable.invalid { throw .corrupt("invalid code-length code") }
            br.buf &>>= UInt64(e & 0xFF); br.count -= Int(e & 0xFF)
            let sym = Int(e >> 16)
            if sym < 16 { lengths[i] = UInt8(sym); i += 1; continue }
            var value: UInt8 = 0, repeatCount: Int
            switch sym {
            case 16:
                guard i > 0 else { throw .corrupt("repeated code length with no previous length") }
                value = lengths[i - 1]; repeatCount = 3 + (try br.bits(2))
            case 17: repeatCount = 3 + (try br.bits(3))
            default: repeatCount = 11 + (try br.bits(7))
            }
            guard i + repeatCount <= nlen + ndist else { throw .corrupt("code lengths overflow the alphabet") }
            for _ in 0..<repeatCount { lengths[i] = value; i += 1 }
        }
        guard lengths[256] != 0 else { throw .corrupt("missing end-of-block code") }
        try HuffmanTable.build(lengths[0..<nlen], templates: HuffmanTable.literalTemplates, root: 10,
                               allowEmpty: false, into: &litTable)
        try HuffmanTable.build(lengths[nlen..<(nlen + ndist)], templates: HuffmanTable.distanceTemplates, root: 8,
                               allowEmpty: true, into: &distTable)
    }

    /// The hot loop: decodes one Huffman-coded block up to its end-of-block code.
    static func decodeBlock(_ br: inout BitReader, _ litTable: [UInt32], _ distTable: [UInt32],
                            _ sink: InflateOutput, windowStart: Int) throws(InflateFailure) {
        try litTable.withUnsafeBufferPointer { (lit) throws(InflateFailure) in
            try distTable.withUnsafeBufferPointer { (dist) throws(InflateFailure) in
                guard let lit = lit.baseAddress, let dist = dist.baseAddress else { throw .corrupt("empty table") }
                var out = sink.base, op = sink.count, capacity = sink.capacity
                defer { sink.count = op }
                var buf = br.buf, count = br.count
                defer { br.buf = buf; br.count = count }
                while true {
                    if count < 48 {
                        br.buf = buf; br.count = count
                        try br.refill()
                        buf = br.buf; count = br.count
                    }
                    if capacity &- op < 272 {
                        if op > sink.limit { throw .tooLarge(sink.limit) }
                        sink.count = op
                        sink.reserve(1 << 20)
                        out = sink.base; capacity = sink.capacity
                    }
                    var e = lit[Int(truncatingIfNeeded: buf & 0x3FF)]
                    var kind = (e >> 12) & 0xF
                    if kind == HuffmanTable.link {
                        buf &>>= 10; count &-= 10
                        e = lit[Int(e >> 16) &+ Int(truncatingIfNeeded: buf & ((1 &<< UInt64(e & 0xFF)) &- 1))]
                        kind = (e >> 12) & 0xF
                    }
                    buf &>>= UInt64(e & 0xFF); count &-= Int(e & 0xFF)
                    if kind == HuffmanTable.literal {
                        out[op] = UInt8(truncatingIfNeeded: e >> 16)
                        op &+= 1
                        continue
                    }
                    if kind == HuffmanTable.endOfBlock { return }
                    if kind != HuffmanTable.match { throw .corrupt("invalid literal/length code") }
                    var extra = UInt64((e >> 8) & 0xF)
                    let length = Int(e >> 16) &+ Int(truncatingIfNeeded: buf & ((1 &<< extra) &- 1))
                    buf &>>= extra; count &-= Int(extra)
                    var d = dist[Int(truncatingIfNeeded: buf & 0xFF)]
                    if (d >> 12) & 0xF == HuffmanTable.link {
                        buf &>>= 8; count &-= 8
                        d = dist[Int(d >> 16) &+ Int(truncatingIfNeeded: buf & ((1 &<< UInt64(d & 0xFF)) &- 1))]
                    }
                    if (d >> 12) & 0xF != HuffmanTable.match { throw .corrupt("invalid distance code") }
                    buf &>>= UInt64(d & 0xFF); count &-= Int(d & 0xFF)
                    extra = UInt64((d >> 8) & 0xF)
                    let distance = Int(d >> 16) &+ Int(truncatingIfNeeded: buf & ((1 &<< extra) &- 1))
                    buf &>>= extra; count &-= Int(extra)
                    guard distance <= op &- windowStart else { throw .corrupt("distance too far back") }
                    copyMatch(out + op, distance: distance, length: length)
                    op &+= length
                }
            }
        }
    }

    /// Copies `length` bytes from `distance` bytes back; may write up to 7 bytes past the end
    /// (the output keeps slack for that).
    @inline(__always) static func copyMatch(_ dst: UnsafeMutablePointer<UInt8>, distance: Int, length: Int) {
        let src = dst - distance
        if distance >= 8 {
            var i = 0
            while i < length {
                let w = UnsafeRawPointer(src + i).loadUnaligned(as: UInt64.self)
                UnsafeMutableRawPointer(dst + i).storeBytes(of: w, as: UInt64.self)
                i &+= 8
            }
        } else if distance == 1 {
            dst.update(repeating: src.pointee, count: length)
        } else {
            for i in 0..<length { dst[i] = src[i] }
        }
    }
}


/// Little-endian field readers; the caller has checked the bounds.
extension UnsafeRawBufferPointer {
    @inline(__always) fileprivate func le16(_ at: Int) -> Int { Int(self[at]) | Int(self[at + 1]) << 8 }
    @inline(__always) fileprivate func le32(_ at: Int) -> Int { le16(at) | le16(at + 2) << 16 }
}

/// gzip files (RFC 1952).
public enum Gzip {
    /// Decompresses every member of a gzip file and returns their concatenated contents.
    /// Header flags FEXTRA, FNAME, FCOMMENT and FHCRC are handled; each member's CRC-32 and
    /// length trailer is verified. Zero bytes after the last member (tape padding) are ignored.
    public static func decompress(_ data: [UInt8], limit: Int = Int.max) throws -> [UInt8] {
        guard data.count >= 2, data[0] == 0x1F, data[1] == 0x8B else {
            throw RMoEError("not gzip data (missing the 1f 8b magic bytes); pass a .gz file, or use Zip.extract for .zip files")
        }
        // The last member's ISIZE is the whole size for the usual single-member file.
        var hint = data.count * 3
        if data.count >= 18 {
            let n = data.count
            let isize = Int(data[n - 4]) | Int(data[n - 3]) << 8 | Int(data[n - 2]) << 16 | Int(data[n - 1]) << 24
            hint = max(hint, min(isize, data.count * 1100, 1 << 31))
        }
        let out = InflateOutput(capacityHint: hint, limit: limit)
        try data.withUnsafeBytes { raw in
            var p = 0, member = 1
            while true {
                let start = out.count
                p = try header(raw, at: p, member: member)
                do throws(InflateFailure) {
                    p = try Inflate.inflate(raw, from: p, into: out)
                } catch {
                    throw Inflate.describe(error, what: "gzip data", context: "member \(member)")
                }
                guard p + 8 <= raw.count else {
                    throw RMoEError("gzip data is truncated (the trailer of member \(member) is missing); the file is incomplete: fetch it again")
                }
                let crc = CRC32.checksum(UnsafeRawBufferPointer(start: out.base + start, count: out.count - start))
                guard UInt32(raw.le32(p)) == crc else {
                    throw RMoEError("gzip data is corrupt (CRC-32 mismatch in member \(member)); the file is damaged: fetch it again")
                }
                guard raw.le32(p + 4) == (out.count - start) & 0xFFFF_FFFF else {
                    throw RMoEError("gzip data is corrupt (length mismatch in member \(member)); the file is damaged: fetch it again")
                }
                p += 8
                if raw[p...].allSatisfy({ $0 == 0 }) { break }
                guard p + 1 < raw.count, raw[p] == 0x1F, raw[p + 1] == 0x8B else {
                    throw RMoEError("gzip data is corrupt (unexpected bytes after member \(member)); the file is damaged: fetch it again")
                }
                member += 1
            }
        }
        return out.bytes()
    }

    /// Parses the member header at `at` and returns the offset of its DEFLATE stream.
    static func header(_ raw: UnsafeRawBufferPointer, at start: Int, member: Int) throws -> Int {
        let truncated = RMoEError("gzip data is truncated (header of member \(member) is cut off); the file is incomplete: fetch it again")
        guard start + 10 <= raw.count else { throw truncated }
        guard raw[start] == 0x1F, raw[start + 1] == 0x8B else {
            throw RMoEError("not gzip data (member \(member) lacks the 1f 8b magic bytes); pass a .gz file")
        }
        guard raw[start + 2] == 8 else {
            throw RMoEError("gzip member \(member) uses compression method \(raw[start + 2]), not deflate (8); recompress the file with gzip")
        }
        let flags = raw[start + 3]
        guard flags & 0xE0 == 0 else {
            throw RMoEError("gzip data is corrupt (reserved header flags set in member \(member)); the file is damaged: fetch it again")
        }
        var p = start + 10
        if flags & 4 != 0 {  // FEXTRA
            guard p + 2 <= raw.count else { throw truncated }
            p += 2 + raw.le16(p)
        }
        for flag: UInt8 in [8, 16] where flags & flag != 0 {  // FNAME, FCOMMENT: zero-terminated
            while p < raw.count && raw[p] != 0 { p += 1 }
            p += 1
        }
        if flags & 2 != 0 {  // FHCRC: low 16 bits of the CRC-32 of the header so far
            guard p + 2 <= raw.count else { throw truncated }
            let crc = CRC32.checksum(UnsafeRawBufferPointer(rebasing: raw[start..<p]))
            guard raw.le16(p) == Int(crc & 0xFFFF) else {
                throw RMoEError("gzip data is corrupt (header CRC mismatch in member \(member)); the file is damaged: fetch it again")
            }
            p += 2
        }
        guard p < raw.count else { throw truncated }
        return p
    }
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
                throw RMoEError("zip entry '\(e.name)' holds \(e.size) bytes, more than the cap of \(limit); it is not the expected file (RMOE_MAX_DECOMPRESSED_BYTES raises the cap)")
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
            entries.append(Entry(name: name, flags: raw.le16(p + 8), method: raw.le16(p + 10), crc: UInt32(raw.le32(p + 16)),
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
        // The declared size caps the output: an entry that inflates past it is corrupt (or a bomb).
        let out = InflateOutput(capacityHint: min(e.size, 1 << 31), limit: e.size)
        switch e.method {
        case 0:
            guard e.compressedSize == e.size else { throw corrupt("stored entry '\(e.name)' has mismatched sizes") }
            out.append(body)
        case 8:
            do throws(InflateFailure) {
                _ = try Inflate.inflate(body, from: 0, into: out)
            } catch {
                throw Inflate.describe(error, what: "zip archive", context: "entry '\(e.name)'")
            }
        default:
            throw RMoEError("zip entry '\(e.name)' uses compression method \(e.method), not stored (0) or deflate (8); extract it with unzip and pass the file itself")
        }
        guard out.count == e.size else { throw corrupt("size mismatch in '\(e.name)'") }
        guard CRC32.checksum(UnsafeRawBufferPointer(start: out.base, count: out.count)) == e.crc else {
            throw corrupt("CRC-32 mismatch in '\(e.name)'")
        }
        return out.bytes()
    }
}
