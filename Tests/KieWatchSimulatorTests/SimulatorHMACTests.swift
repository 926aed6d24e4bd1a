import Testing

@testable import KieWatchSimulator

@Suite struct SimulatorHMACTests {
    static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }

    static func hmac(_ key: [UInt8], _ message: [UInt8]) -> String {
        hex(SimulatorHMAC.hmacSHA256(key: key, message: message))
    }

    @Test func sha256KnownAnswers() {
        #expect(Self.hex(SimulatorHMAC.sha256([])) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(Self.hex(SimulatorHMAC.sha256(Array("abc".utf8))) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        // 56 bytes: the padding spills into a second block.
        let twoBlocks = Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)
        #expect(Self.hex(SimulatorHMAC.sha256(twoBlocks)) == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    @Test func rfc4231TestCases() {
        let aa131 = [UInt8](repeating: 0xaa, count: 131)
        #expect(Self.hmac([UInt8](repeating: 0x0b, count: 20), Array("Hi There".utf8))
            == "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
        #expect(Self.hmac(Array("Jefe".utf8), Array("what do ya want for nothing?".utf8))
            == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        #expect(Self.hmac([UInt8](repeating: 0xaa, count: 20), [UInt8](repeating: 0xdd, count: 50))
            == "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe")
        #expect(Self.hmac(Array(1...25), [UInt8](repeating: 0xcd, count: 50))
            == "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b")
        // Case 5 specifies only the first 128 bits.
        #expect(Self.hmac([UInt8](repeating: 0x0c, count: 20), Array("Test With Truncation".utf8)).hasPrefix(
            "a3b6167473100ee06e0c796c2955552b"))
        #expect(Self.hmac(aa131, Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8))
            == "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")
        let case7 =
            "This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm."
        #expect(Self.hmac(aa131, Array(case7.utf8)) == "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2")
    }

    @Test func base64RFC4648Vectors() {
        let vectors = ["": "", "f": "Zg==", "fo": "Zm8=", "foo": "Zm9v", "foob": "Zm9vYg==", "fooba": "Zm9vYmE=", "foobar": "Zm9vYmFy"]
        for (plain, encoded) in vectors {
            #expect(SimulatorHMAC.base64(Array(plain.utf8)) == encoded)
        }
    }

    @Test func webhookSignatureMatchesAnIndependentImplementation() {
        // Computed with Python's hmac/hashlib/base64.
        #expect(SimulatorHMAC.webhookSignature(key: "whsec_test", taskId: "veo_task_abc", timestamp: "1767225600")
            == "8cI3yhcTj5sOyAx23pg4QBdplRZCGawLozcXmWbACDw=")
    }
}
