// Debian: liblz4-dev (pkg-config liblz4). Raw uplink bytes are stored as LZ4
// blocks against a dictionary of earlier messages (Store/RawMessageCodec).
#include <lz4.h>
