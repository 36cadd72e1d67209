import CLibCrypto
import Readings

/// The SHA-256 of a message too large to keep whole, so an operator can match
/// the quarantined prefix to what the device sent. From OpenSSL's libcrypto,
/// already in the process for libmosquitto's TLS: swift-crypto brought a
/// second copy of BoringSSL for this one digest (issue 17, Benchmarks/RESULTS.md).
enum MessageDigest {
    /// 64 lowercase hex digits, as `sha256sum` prints them.
    static func sha256Hex(_ bytes: UnsafeRawBufferPointer) -> String {
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let ok = digest.withUnsafeMutableBufferPointer { out in
            EVP_Digest(bytes.baseAddress, bytes.count, out.baseAddress, &length, EVP_sha256(), nil)
        }
        // EVP_Digest fails only without memory or without the algorithm, which
        // OpenSSL's default provider always has: say so rather than print a wrong digest.
        guard ok == 1, length == 32 else { return "unavailable" }
        return digest.prefix(32).map { Hex.digits(UInt64($0), count: 2) }.joined()
    }
}
