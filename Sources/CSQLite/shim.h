#ifndef KIEWATCH_CSQLITE_SHIM_H
#define KIEWATCH_CSQLITE_SHIM_H
#include <sqlite3.h>

/// `sqlite3_config` is variadic, which Swift cannot call: one fixed-argument wrapper per use.
/// Turns SQLite's allocation statistics on or off; only valid before SQLite initializes.
static inline int kiewatch_sqlite3_config_memstatus(int on) {
    return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, on);
}

/// The memory a connection's page cache takes in one block when it opens
/// (`SQLITE_CONFIG_PAGECACHE` with no buffer); 0: none, pages are allocated as they are used.
static inline int kiewatch_sqlite3_config_pagecache_initial_lines(int lines) {
    return sqlite3_config(SQLITE_CONFIG_PAGECACHE, (void *)0, 0, lines);
}
#endif
