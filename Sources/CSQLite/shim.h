#include <sqlite3.h>

// SQLITE_TRANSIENT is a macro over a cast Swift cannot import.
static inline sqlite3_destructor_type gtr_sqlite_transient(void) { return SQLITE_TRANSIENT; }

// SQLite's memory statistics take a process-wide mutex on every allocation (several per logged row); gtr never
// reads them. sqlite3_config is variadic, and only takes effect before the library's first use.
static inline int gtr_sqlite_disable_memstatus(void) { return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); }
