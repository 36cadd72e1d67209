// Debian: libsqlite3-dev (pkg-config sqlite3).
#include <sqlite3.h>

// SQLITE_TRANSIENT is a macro over a cast of -1 that Swift cannot import.
static inline void (*_Nonnull csqlite_transient(void))(void *) {
    return (void (*)(void *))-1;
}
