/// Exact integer arithmetic for values that came from untrusted bytes.
///
/// Swift traps on integer overflow; a payload must never be able to crash the
/// daemon, so every operation here reports overflow as `nil` instead.
///
/// Rounding rule (the only one in citygate): where a division is inexact the
/// result is rounded **half away from zero** (2.5 → 3, −2.5 → −3). Vendor
/// scales finer than the canonical step, window means and derived values all
/// go through `divideRounded`.
public enum FixedPoint {
    /// `value × numerator / denominator`, rounded half away from zero; nil on
    /// overflow or a zero denominator.
    @inlinable
    public static func scale(_ value: Int64, by numerator: Int64, over denominator: Int64) -> Int64? {
        let (product, overflow) = value.multipliedReportingOverflow(by: numerator)
        if overflow { return nil }
        return divideRounded(product, by: denominator)
    }

    /// `dividend / divisor`, rounded half away from zero; nil when the divisor
    /// is zero or the quotient does not fit (`.min / -1`). Used for Int64
    /// values and for the Int128 sums behind window means.
    @inlinable
    public static func divideRounded<T: FixedWidthInteger & SignedInteger>(_ dividend: T, by divisor: T) -> T? {
        if divisor == 0 { return nil }
        let (quotient, overflow) = dividend.dividedReportingOverflow(by: divisor)
        if overflow { return nil }
        let remainder = dividend - quotient * divisor
        if remainder == 0 { return quotient }
        // Compare 2·|r| with |d| without overflowing: |r| < |d| ≤ 2^(bits-1).
        if remainder.magnitude * 2 >= divisor.magnitude {
            return (dividend < 0) != (divisor < 0) ? quotient - 1 : quotient + 1
        }
        return quotient
    }

    /// Renders `units × 10^-decimals` as an exact decimal: (2135, 2) → "21.35",
    /// (-5, 2) → "-0.05", (776, 0) → "776". Trailing zeros are kept so the
    /// text shows the metric's resolution.
    public static func decimalString(_ units: Int64, decimals: Int) -> String {
        let magnitude = units.magnitude  // UInt64: Int64.min has no positive twin
        var digits = String(magnitude)
        if decimals > 0 {
            if digits.count <= decimals {
                digits = String(repeating: "0", count: decimals - digits.count + 1) + digits
            }
            digits.insert(".", at: digits.index(digits.endIndex, offsetBy: -decimals))
        }
        return units < 0 ? "-" + digits : digits
    }

    /// Parses an exact decimal ("21.35", "-0.5", "776") into counts of
    /// 10^-decimals. Fails on more fractional digits than `decimals`, on
    /// anything that is not a plain decimal, and on overflow.
    public static func parseDecimal(_ text: some StringProtocol, decimals: Int) -> Int64? {
        var negative = false
        var integerPart: Int64 = 0
        var fractionDigits = 0
        var seenDot = false
        var seenDigit = false
        var index = text.startIndex
        if index < text.endIndex, text[index] == "-" || text[index] == "+" {
            negative = text[index] == "-"
            index = text.index(after: index)
        }
        while index < text.endIndex {
            let character = text[index]
            if character == "." {
                if seenDot { return nil }
                seenDot = true
            } else if let digit = character.wholeNumberValue, character.isASCII {
                if seenDot {
                    fractionDigits += 1
                    if fractionDigits > decimals { return nil }
                }
                let (shifted, o1) = integerPart.multipliedReportingOverflow(by: 10)
                let (added, o2) = shifted.addingReportingOverflow(Int64(digit))
                if o1 || o2 { return nil }
                integerPart = added
                seenDigit = true
            } else {
                return nil
            }
            index = text.index(after: index)
        }
        if !seenDigit { return nil }
        var value = integerPart
        for _ in fractionDigits..<decimals {
            let (shifted, overflow) = value.multipliedReportingOverflow(by: 10)
            if overflow { return nil }
            value = shifted
        }
        return negative ? -value : value
    }
}
