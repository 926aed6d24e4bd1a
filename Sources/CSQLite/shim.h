#ifndef KIEWATCH_CSQLITE_SHIM_H
#define KIEWATCH_CSQLITE_SHIM_H
#include <sqlite3.h>
#endif
