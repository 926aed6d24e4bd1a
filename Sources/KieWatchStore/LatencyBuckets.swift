/// The one fixed, log-scale bucket layout for every duration kiewatch rolls up per minute
/// (API call latency, task duration), in microseconds.
///
/// Bounds grow by √2 from 100 µs to about 5.3 hours (56 finite buckets plus one overflow),
/// so a percentile interpolated inside a bucket is off by at most ~41 % of the value and
/// usually far less, while a bucket array stays 228 bytes. The layout is part of the file
/// format: changing it needs a migration that rewrites the rollup BLOBs.
///
/// Storage: a BLOB of little-endian `UInt32` counts, one per bucket (bucket `i` counts values
/// `<= upperBounds[i]` and `> upperBounds[i-1]`; the last one counts values above every bound).
package enum LatencyBuckets {
    /// Inclusive upper bounds in microseconds, i in 0..<56: `100·2^(i/2)` for even i and
    /// `100·2^((i-1)/2)·1.4142136` rounded for odd i (integer arithmetic, exact everywhere).
    package static let upperBoundsMicros: [Int64] = (0..<56).map { i in
        let base: Int64 = 100 << Int64(i / 2)
        return i % 2 == 0 ? base : (base * 14_142_136 + 5_000_000) / 10_000_000
    }

    /// Number of buckets, including the overflow bucket.
    package static let count = upperBoundsMicros.count + 1

    /// The bucket a duration falls into (negative durations count as 0).
    @inline(__always)
    package static func index(micros: Int64) -> Int {
        var low = 0
        var high = upperBoundsMicros.count  // overflow bucket
        while low < high {
            let mid = (low + high) / 2
            if micros <= upperBoundsMicros[mid] { high = mid } else { low = mid + 1 }
        }
        return low
    }

    /// The `q`-quantile (0...1) of the values counted in `counts`, in microseconds, linearly
    /// interpolated inside its bucket as Prometheus' `histogram_quantile` does; the first
    /// bucket's lower edge is 0, and a quantile in the overflow bucket returns the last bound.
    /// Nil when there are no values.
    package static func percentile(_ q: Double, counts: [UInt64]) -> Double? {
        let total = counts.reduce(0, +)
        guard total > 0 else { return nil }
        let rank = min(max(q, 0), 1) * Double(total)
        var below: UInt64 = 0
        for (index, count) in counts.enumerated() where count > 0 {
            if Double(below + count) >= rank {
                guard index < upperBoundsMicros.count else { return Double(upperBoundsMicros.last!) }
                let lower = index == 0 ? 0 : Double(upperBoundsMicros[index - 1])
                let upper = Double(upperBoundsMicros[index])
                return lower + (upper - lower) * (rank - Double(below)) / Double(count)
            }
            below += count
        }
        return Double(upperBoundsMicros.last!)
    }

    // MARK: BLOB encoding

    /// Encodes counts as little-endian `UInt32` (saturating).
    package static func encode(_ counts: [UInt32]) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: counts.count * 4)
        for (index, value) in counts.enumerated() {
            let le = value.littleEndian
            withUnsafeBytes(of: le) { raw in
                for offset in 0..<4 { bytes[index * 4 + offset] = raw[offset] }
            }
        }
        return bytes
    }

    /// Decodes a bucket BLOB and adds it into `counts` (grown if needed); a trailing partial
    /// count is ignored.
    package static func accumulate(_ blob: [UInt8], into counts: inout [UInt64]) {
        blob.withUnsafeBytes { raw in
            let n = raw.count / 4
            if counts.count < n { counts += [UInt64](repeating: 0, count: n - counts.count) }
            for index in 0..<n {
                counts[index] += UInt64(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: index * 4, as: UInt32.self)))
            }
        }
    }

    /// Decodes a bucket BLOB into counts.
    package static func decode(_ blob: [UInt8]) -> [UInt64] {
        var counts = [UInt64](repeating: 0, count: count)
        accumulate(blob, into: &counts)
        return counts
    }

    /// Element-wise saturating sum of two encoded BLOBs (`kw_buckets_add` in SQL).
    package static func add(_ left: UnsafeRawBufferPointer, _ right: UnsafeRawBufferPointer) -> [UInt8] {
        let n = max(left.count, right.count) / 4
        var result = [UInt8](repeating: 0, count: n * 4)
        result.withUnsafeMutableBytes { out in
            for index in 0..<n {
                let offset = index * 4
                let a = offset + 4 <= left.count ? UInt32(littleEndian: left.loadUnaligned(fromByteOffset: offset, as: UInt32.self)) : 0
                let b = offset + 4 <= right.count ? UInt32(littleEndian: right.loadUnaligned(fromByteOffset: offset, as: UInt32.self)) : 0
                let (sum, overflow) = a.addingReportingOverflow(b)
                out.storeBytes(of: (overflow ? UInt32.max : sum).littleEndian, toByteOffset: offset, as: UInt32.self)
            }
        }
        return result
    }
}
