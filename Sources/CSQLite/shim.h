// Debian: libsqlite3-dev (pkg-config sqlite3).
#include <sqlite3.h>

// SQLITE_TRANSIENT is a macro over a cast of -1 that Swift cannot import.
static inline void (*_Nonnull csqlite_transient(void))(void *) {
    return (void (*)(void *))-1;
}

// No global memory statistics (sqlite3_config is variadic: Swift cannot call
// it). With them on, each allocation SQLite makes takes a global mutex.
// Only takes effect before SQLite initialises (SQLITE_MISUSE after).
static inline int csqlite_disable_memory_statistics(void) {
    return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}
