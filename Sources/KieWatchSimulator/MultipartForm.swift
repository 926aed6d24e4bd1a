/// A `multipart/form-data` body (RFC 7578) split into its parts: enough to read the fields and
/// the file of an upload. Tolerant where clients differ (LF or CRLF line ends inside part
/// heads, quoted or bare parameter values); a body it cannot read yields no parts.
struct MultipartForm {
    struct Part {
        var name: String
        /// The `filename` of a file part.
        var fileName: String?
        var contentType: String?
        var data: ArraySlice<UInt8>
    }

    var parts: [Part]

    /// Parses `body` with the boundary named in `contentType`; nil when it is not multipart.
    init?(contentType: String, body: [UInt8]) {
        guard contentType.lowercased().hasPrefix("multipart/form-data"),
            let boundary = Self.parameter("boundary", in: contentType), !boundary.isEmpty
        else { return nil }
        parts = Self.split(body, boundary: Array("--\(boundary)".utf8))
    }

    /// The text of the field `name`, if any.
    func field(_ name: String) -> String? {
        parts.first { $0.name == name && $0.fileName == nil }.map { String(decoding: $0.data, as: UTF8.self) }
    }

    /// The first file part.
    var file: Part? { parts.first { $0.fileName != nil } ?? parts.first { $0.name == "file" } }

    private static func split(_ body: [UInt8], boundary: [UInt8]) -> [Part] {
        var parts: [Part] = []
        guard var start = body.firstRange(of: boundary)?.upperBound else { return [] }
        while true {
            // After a delimiter: "--" ends the body, else the line end before the part's head.
            if body[start...].starts(with: Array("--".utf8)) { break }
            guard let headStart = body[start...].firstIndex(of: UInt8(ascii: "\n")).map({ $0 + 1 }),
                let next = body[headStart...].firstRange(of: boundary)
            else { break }
            var end = next.lowerBound  // the part ends before the line end that precedes the delimiter
            if end > headStart, body[end - 1] == UInt8(ascii: "\n") { end -= 1 }
            if end > headStart, body[end - 1] == UInt8(ascii: "\r") { end -= 1 }
            if let part = part(body[headStart..<end]) { parts.append(part) }
            start = next.upperBound
        }
        return parts
    }

    private static func part(_ bytes: ArraySlice<UInt8>) -> Part? {
        let headEnd: Range<Int>? = bytes.firstRange(of: Array("\r\n\r\n".utf8)) ?? bytes.firstRange(of: Array("\n\n".utf8))
        guard let headEnd else { return nil }
        let head = String(decoding: bytes[bytes.startIndex..<headEnd.lowerBound], as: UTF8.self)
        var name: String?
        var fileName: String?
        var contentType: String?
        for line in head.split(whereSeparator: \.isNewline) {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let field = line[..<colon].lowercased()
            let value = String(line[line.index(after: colon)...])
            if field == "content-disposition" {
                name = parameter("name", in: value)
                fileName = parameter("filename", in: value)
            } else if field == "content-type" {
                contentType = value.trimmingCharacters(in: " \t")
            }
        }
        guard let name else { return nil }
        return Part(name: name, fileName: fileName, contentType: contentType, data: bytes[headEnd.upperBound...])
    }

    /// `key=value` or `key="value"` among `;`-separated parameters (case-insensitive key).
    static func parameter(_ key: String, in header: String) -> String? {
        for item in header.split(separator: ";").dropFirst() {
            let pair = item.split(separator: "=", maxSplits: 1)
            guard pair.count == 2, pair[0].trimmingCharacters(in: " \t").lowercased() == key else { continue }
            var value = pair[1].trimmingCharacters(in: " \t")
            if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") { value = String(value.dropFirst().dropLast()) }
            return value
        }
        return nil
    }
}

extension StringProtocol {
    fileprivate func trimmingCharacters(in set: String) -> String {
        var s = Substring(self)
        while let c = s.first, set.contains(c) { s.removeFirst() }
        while let c = s.last, set.contains(c) { s.removeLast() }
        return String(s)
    }
}
