/* A SQLite workload with SQLite's own count of its allocations beside it,
 * for real_programs_test: after building a 20000-row table and an index in
 * memory, it reads SQLITE_STATUS_MALLOC_COUNT (the allocations SQLite has
 * made through its memory allocator and not yet freed), marks that moment in
 * the trace with one malloc of kMarkSize bytes, and prints the count.
 * The test compares it with the blocks atr saw allocated from libsqlite3
 * and still live at the mark. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>

enum { kMarkSize = 987654 };

static int Run(sqlite3* db, const char* sql) {
  char* err = NULL;
  if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
    fprintf(stderr, "sqlite: %s\n", err ? err : "?");
    sqlite3_free(err);
    return 0;
  }
  return 1;
}

int main(void) {
  sqlite3* db = NULL;
  if (sqlite3_open(":memory:", &db) != SQLITE_OK) return 1;
  if (!Run(db,
           "CREATE TABLE t(a INTEGER, b TEXT);"
           "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 20000)"
           " INSERT INTO t SELECT x, hex(randomblob(16)) FROM c;"
           "CREATE INDEX tb ON t(b);")) {
    return 1;
  }
  sqlite3_int64 outstanding = 0, highwater = 0;
  if (sqlite3_status64(SQLITE_STATUS_MALLOC_COUNT, &outstanding, &highwater, 0) != SQLITE_OK) {
    return 1;
  }
  void* volatile mark = malloc(kMarkSize);
  free(mark);
  printf("%lld\n", (long long)outstanding);
  sqlite3_close(db);
  return 0;
}
