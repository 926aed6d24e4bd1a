#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The simulator's only source of randomness: xoshiro256** seeded through SplitMix64.
///
/// Every fault, task id and generation time comes from here, so a run is reproducible from its
/// seed: the same seed and the same request sequence give the same tasks and the same faults in
/// the same order. The system generator is never used.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    /// Expands `seed` into the 256-bit state with SplitMix64, as the xoshiro authors recommend
    /// (it never yields the all-zero state).
    public init(seed: UInt64) {
        var mix = SplitMix64(state: seed)
        s0 = mix.next()
        s1 = mix.next()
        s2 = mix.next()
        s3 = mix.next()
    }

    /// Starts from a raw state; for checking the generator against its reference outputs.
    init(state: (UInt64, UInt64, UInt64, UInt64)) {
        (s0, s1, s2, s3) = state
    }

    public mutating func next() -> UInt64 {
        let result = rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = rotl(s3, 45)
        return result
    }

    /// A uniform double in `[0, 1)` built from the top 53 bits.
    public mutating func unit() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// True with probability `p`: 0 never, 1 always.
    public mutating func chance(_ p: Double) -> Bool {
        unit() < p
    }

    /// A uniform integer in `range`.
    public mutating func integer(in range: ClosedRange<Int>) -> Int {
        Int.random(in: range, using: &self)
    }

    /// A uniform double in `range`.
    public mutating func uniform(in range: ClosedRange<Double>) -> Double {
        range.lowerBound + (range.upperBound - range.lowerBound) * unit()
    }

    /// A log-normal draw whose 5th and 95th percentiles are the ends of `range`, clamped to
    /// half the low end and twice the high end.
    ///
    /// Generation times are skewed: most tasks land near the median, a few take much longer.
    /// A log-normal has that long right tail; the clamp keeps one unlucky draw from stalling a test
    /// run for hours. Always consumes exactly two uniforms (Box–Muller), which keeps the stream of
    /// draws the same length whatever the values.
    public mutating func logNormal(percentile5to95 range: ClosedRange<Double>) -> Double {
        let u1 = 1 - unit()  // (0, 1]: log stays finite
        let u2 = unit()
        let z = (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
        let low = max(range.lowerBound, .leastNormalMagnitude)
        let high = max(range.upperBound, low)
        let median = (low * high).squareRoot()
        let sigma = log(high / low) / (2 * 1.6448536269514722)
        let value = median * exp(sigma * z)
        return min(max(value, low / 2), high * 2)
    }

    /// `count` lowercase hex digits, the alphabet of Kie's task ids.
    public mutating func hex(count: Int) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(count)
        var bits: UInt64 = 0
        var left = 0
        for _ in 0..<count {
            if left == 0 {
                bits = next()
                left = 16
            }
            out.append(digits[Int(bits & 0xF)])
            bits >>= 4
            left -= 1
        }
        return String(decoding: out, as: UTF8.self)
    }

    @inline(__always) private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 {
        (x << k) | (x >> (64 - k))
    }
}

/// SplitMix64 (Steele, Lea, Flood 2014): turns one 64-bit seed into well-mixed state words.
struct SplitMix64 {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
