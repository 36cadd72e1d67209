// Debian: libssl-dev (pkg-config libcrypto). OpenSSL's libcrypto, which
// libmosquitto loads for TLS in any case: the SHA-256 of an oversized message
// (Gateway/Runtime/MessageDigest.swift).
#include <openssl/evp.h>
