/// The window mean as the tests compute it, written out here rather than
/// borrowed from the gateway: the exact sum over the count, rounded half away
/// from zero.
func independentMean(sum: Int128, count: Int) -> Int64 {
    let n = Int128(count)
    var q = sum / n
    let r = sum % n
    if r != 0 && (r < 0 ? -r : r) * 2 >= n { q += sum < 0 ? -1 : 1 }
    return Int64(q)
}
