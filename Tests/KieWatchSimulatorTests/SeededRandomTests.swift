import Testing

@testable import KieWatchSimulator

@Suite struct SeededRandomTests {
    @Test func xoshiroMatchesTheReferenceOutput() {
        var random = SeededRandom(state: (1, 2, 3, 4))
        #expect([random.next(), random.next(), random.next(), random.next()] == [11520, 0, 1_509_978_240, 1_215_971_899_390_074_240])
    }

    @Test func splitMixMatchesTheReferenceOutput() {
        var mix = SplitMix64(state: 0)
        #expect(mix.next() == 0xE220_A839_7B1D_CDAF)
        #expect(mix.next() == 0x6E78_9E6A_A1B9_65F4)
    }

    @Test func sameSeedSameStreamDifferentSeedDifferentStream() {
        var a = SeededRandom(seed: 42), b = SeededRandom(seed: 42), c = SeededRandom(seed: 43)
        let xs = (0..<8).map { _ in a.next() }
        #expect(xs == (0..<8).map { _ in b.next() })
        #expect(xs != (0..<8).map { _ in c.next() })
    }

    @Test func unitAndChanceStayInRange() {
        var random = SeededRandom(seed: 7)
        for _ in 0..<10_000 {
            let u = random.unit()
            #expect(u >= 0 && u < 1)
        }
        #expect(!(0..<1000).contains { _ in random.chance(0) })
        #expect((0..<1000).allSatisfy { _ in random.chance(1) })
    }

    @Test func logNormalCentresOnTheGeometricMeanAndRespectsTheClamp() {
        var random = SeededRandom(seed: 9)
        let draws = (0..<10_000).map { _ in random.logNormal(percentile5to95: 30...120) }
        #expect(draws.allSatisfy { $0 >= 15 && $0 <= 240 })
        let sorted = draws.sorted()
        // Median near sqrt(30*120) = 60; about 5% below 30 and 5% above 120.
        #expect(abs(sorted[5000] - 60) < 3)
        let below = Double(draws.filter { $0 < 30 }.count) / 10_000
        let above = Double(draws.filter { $0 > 120 }.count) / 10_000
        #expect(abs(below - 0.05) < 0.015)
        #expect(abs(above - 0.05) < 0.015)
    }

    @Test func hexHasTheRequestedLengthAndAlphabet() {
        var random = SeededRandom(seed: 3)
        let id = random.hex(count: 32)
        #expect(id.count == 32)
        #expect(id.allSatisfy { "0123456789abcdef".contains($0) })
    }
}
