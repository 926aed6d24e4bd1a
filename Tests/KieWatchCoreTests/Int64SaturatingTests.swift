import KieWatchCore
import Testing

@Suite struct Int64SaturatingTests {
    @Test func clampsInsteadOfTrapping() {
        #expect(Int64.max.saturatingAdding(1) == .max)
        #expect(Int64.min.saturatingAdding(-1) == .min)
        #expect(Int64(40).saturatingAdding(2) == 42)
        #expect(Int64.min.saturatingSubtracting(1) == .min)
        #expect(Int64.max.saturatingSubtracting(-1) == .max)
        #expect(Int64(0).saturatingSubtracting(.min) == .max)
        #expect(Int64(5).saturatingSubtracting(7) == -2)
        #expect(Int64(9_223_372_036_854_776).saturatingMultiplied(by: 1000) == .max)
        #expect(Int64(-9_223_372_036_854_776).saturatingMultiplied(by: 1000) == .min)
        #expect(Int64.min.saturatingMultiplied(by: -1) == .max)
        #expect(Int64(-3).saturatingMultiplied(by: 1000) == -3000)
    }
}
