/// The length of the HTTP head at the start of `bytes`, up to and including the blank line
/// (`\r\n\r\n`) that ends it; nil while that line has not arrived.
///
/// Shared by the raw test peers, `RawTCPServer` (reading requests) and `RawHTTPClient` (reading
/// responses), which otherwise share no code with kiewatch's parsers on purpose.
func httpHeadLength(_ bytes: [UInt8]) -> Int? {
    guard bytes.count >= 4 else { return nil }
    for i in 0...(bytes.count - 4) where bytes[i] == 13 && bytes[i + 1] == 10 && bytes[i + 2] == 13 && bytes[i + 3] == 10 {
        return i + 4
    }
    return nil
}
