// SQL fragments over event_log (schema version 2) for queries that read the
// table directly instead of the `allocations` view, to skip joins they do
// not need. docs/trace-format.md describes the columns.
//
//   "SELECT a.stack, a.size FROM event_log a WHERE " ATR_SQL_IS_ALLOCATION("a")
//   "SELECT " ATR_SQL_FREE_SEQ("a") " FROM event_log a WHERE a.seq = ?1"
#ifndef ATR_DB_EVENT_LOG_SQL_H_
#define ATR_DB_EVENT_LOG_SQL_H_

// Heap acquisition op codes (db/ops.h): the malloc, new and new[] families.
#define ATR_SQL_HEAP_ACQUIRE_OPS "(1, 2, 3, 4, 6, 7, 8, 9, 10, 20, 21, 22, 23, 24, 25, 26, 27)"

// True for the event_log rows (alias `a`) that are allocations: heap
// acquisitions that returned a block. Exactly the `allocations` view's rows.
#define ATR_SQL_IS_ALLOCATION(a) "(" a ".op IN " ATR_SQL_HEAP_ACQUIRE_OPS " AND " a ".addr != 0)"

// The seq of the release that ended the allocation row `a`; NULL: never
// released. The pairing is in the row (free_after) unless the row was
// written before its release was known (late_frees).
#define ATR_SQL_FREE_SEQ(a)                                                       \
  "coalesce(" a ".seq + " a ".free_after, (SELECT l.free_seq FROM late_frees l " \
  "WHERE l.alloc_seq = " a ".seq))"

#endif  // ATR_DB_EVENT_LOG_SQL_H_
