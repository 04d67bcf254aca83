#include "db/table_defs.h"

#include "absl/strings/str_cat.h"
#include "db/event_log_sql.h"
#include "db/ops.h"

namespace atr::db_internal {
namespace {

using K = SchemaObjectKind;

// ---- kMeta -----------------------------------------------------------------

constexpr char kMetaTable[] = R"sql((
  key TEXT PRIMARY KEY NOT NULL,
  value TEXT))sql";

const SchemaObject kMetaObjects[] = {{K::kTable, "meta", kMetaTable}};

// ---- kRecording ------------------------------------------------------------
// Columns are declared INTEGER/TEXT for readers of the schema; SQLite
// stores each integer in 0-8 bytes by value, which is why "none" is 0
// (free in record format 4) wherever 0 cannot be a real value.

constexpr char kOpsTable[] = R"sql((
  code INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  role TEXT NOT NULL,      -- 'acquire', 'release' or 'other'
  family TEXT))sql";  // 'malloc', 'new', 'new[]', 'mmap'; NULL for other ops

constexpr char kProcessesTable[] = R"sql((
  id INTEGER PRIMARY KEY,
  pid INTEGER NOT NULL,
  image INTEGER NOT NULL,
  ppid INTEGER,
  exe TEXT,
  argv TEXT,               -- JSON array of strings
  cwd TEXT,
  started_seq INTEGER,
  ended_seq INTEGER,
  started_ns INTEGER,
  ended_ns INTEGER,
  exit_status INTEGER,
  exit_signal INTEGER,
  UNIQUE(pid, image)))sql";

constexpr char kThreadsTable[] = R"sql((
  id INTEGER PRIMARY KEY,
  pid INTEGER NOT NULL,
  tid INTEGER NOT NULL,
  name TEXT,
  creator_tid INTEGER,
  started_seq INTEGER,
  ended_seq INTEGER,
  stack_lo INTEGER,
  stack_hi INTEGER,
  UNIQUE(pid, tid)))sql";

constexpr char kModulesTable[] = R"sql((
  id INTEGER PRIMARY KEY,
  pid INTEGER NOT NULL,
  path TEXT NOT NULL,
  build_id TEXT,
  bias INTEGER NOT NULL,
  lo INTEGER NOT NULL,
  hi INTEGER NOT NULL,
  loaded_seq INTEGER,
  unloaded_seq INTEGER))sql";

constexpr char kFramesTable[] = R"sql((
  id INTEGER PRIMARY KEY,
  module_id INTEGER REFERENCES modules(id),
  rel_pc INTEGER NOT NULL,
  function TEXT,
  file TEXT,
  line INTEGER,
  column INTEGER,
  frame_size INTEGER,
  dynamic_frame INTEGER,
  call_insn TEXT))sql";

constexpr char kInlineFramesTable[] = R"sql((
  frame_id INTEGER NOT NULL REFERENCES frames(id),
  depth INTEGER NOT NULL,
  function TEXT,
  file TEXT,
  line INTEGER,
  column INTEGER,
  PRIMARY KEY(frame_id, depth)) WITHOUT ROWID)sql";

constexpr char kStacksTable[] = R"sql((
  id INTEGER PRIMARY KEY,
  parent INTEGER REFERENCES stacks(id),
  frame INTEGER NOT NULL REFERENCES frames(id)))sql";

// free_after: on allocation rows, seqs to the release that ended it.
constexpr char kEventLogTable[] = R"sql((
  seq INTEGER PRIMARY KEY,
  ts_ns INTEGER NOT NULL,
  thread INTEGER NOT NULL REFERENCES threads(id),
  op INTEGER NOT NULL REFERENCES ops(code),
  addr INTEGER NOT NULL,
  size INTEGER NOT NULL,
  arg INTEGER NOT NULL,
  stack INTEGER REFERENCES stacks(id),
  sp_depth INTEGER NOT NULL,
  free_after INTEGER))sql";

constexpr char kLateFreesTable[] = R"sql((   -- releases of allocations whose row was written first
  alloc_seq INTEGER PRIMARY KEY,
  free_seq INTEGER NOT NULL))sql";

// Created with the trace (reports of an unfinished trace read it), filled
// by the allocation pass. bytes: the sum of the events' size column.
constexpr char kOpStatsTable[] = R"sql((
  op INTEGER PRIMARY KEY,  -- ops.code
  calls INTEGER NOT NULL,  -- events with this op
  bytes INTEGER NOT NULL))sql";

// CROSS JOIN pins event_log as the outer loop: a filter on pid must not
// make the planner scan event_log once per thread.
constexpr char kEventsView[] = R"sql( AS
  SELECT e.seq AS seq, e.ts_ns AS ts_ns, t.pid AS pid, t.tid AS tid, e.op AS op,
         e.addr AS addr, e.size AS size, e.arg AS arg, e.stack AS stack,
         e.sp_depth AS sp_depth, e.thread AS thread
  FROM event_log e CROSS JOIN threads t ON t.id = e.thread)sql";

constexpr char kAllocationsView[] = R"sql( AS
  SELECT a.seq AS id, ta.pid AS pid, a.addr AS addr, a.size AS size,
         CASE WHEN a.op IN (6, 7, 8, 24, 25, 26, 27) THEN a.arg ELSE 0 END AS align,
         a.op AS op, a.seq AS alloc_seq, f.seq AS free_seq, f.op AS free_op,
         a.stack AS alloc_stack, f.stack AS free_stack, ta.tid AS alloc_tid,
         tf.tid AS free_tid
  FROM event_log a
  CROSS JOIN threads ta ON ta.id = a.thread
  LEFT JOIN event_log f ON f.seq = )sql" ATR_SQL_FREE_SEQ("a") R"sql(
  LEFT JOIN threads tf ON tf.id = f.thread
  WHERE )sql" ATR_SQL_IS_ALLOCATION("a");

// The op codes with alignment in `arg` (the align column above).
static_assert(static_cast<int>(Op::kPosixMemalign) == 6 && static_cast<int>(Op::kAlignedAlloc) == 7 &&
              static_cast<int>(Op::kMemalign) == 8 && static_cast<int>(Op::kNewAligned) == 24 &&
              static_cast<int>(Op::kNewArrayAlignedNothrow) == 27);

const SchemaObject kRecordingObjects[] = {
    {K::kTable, "ops", kOpsTable},
    {K::kTable, "processes", kProcessesTable},
    {K::kTable, "threads", kThreadsTable},
    {K::kTable, "modules", kModulesTable},
    {K::kTable, "frames", kFramesTable},
    {K::kTable, "inline_frames", kInlineFramesTable},
    {K::kTable, "stacks", kStacksTable},
    {K::kTable, "event_log", kEventLogTable},
    {K::kTable, "late_frees", kLateFreesTable},
    {K::kTable, "op_stats", kOpStatsTable},
    {K::kView, "events", kEventsView},
    {K::kView, "allocations", kAllocationsView},
};

// ---- kAllocationResults ----------------------------------------------------
// Written only by the allocation pass: a trace without it (unfinished, or
// finished before the table existed) has the rows computed from the pairs
// (TraceReader::WithStackStats).

constexpr char kStackStatsTable[] =
    "(stack INTEGER PRIMARY KEY, calls INTEGER NOT NULL, bytes INTEGER NOT NULL, "
    "peak_bytes INTEGER NOT NULL, leaked INTEGER NOT NULL, leaked_bytes INTEGER NOT NULL, "
    "first_leak_seq INTEGER)";

const SchemaObject kAllocationResultsObjects[] = {
    {K::kTable, "stack_stats", kStackStatsTable},
};

// ---- kReplay ---------------------------------------------------------------

constexpr char kReplaysTable[] = R"sql((
  id INTEGER PRIMARY KEY,
  allocator TEXT NOT NULL,
  config TEXT NOT NULL,
  threads TEXT NOT NULL,
  pid INTEGER,
  until_seq INTEGER,
  started_utc TEXT,
  duration_ns INTEGER,
  allocator_ns INTEGER,
  events INTEGER,
  heap_ops INTEGER,
  last_seq INTEGER,
  peak_live_bytes INTEGER,
  peak_live_seq INTEGER,
  resident_at_peak_live INTEGER,
  peak_resident_bytes INTEGER,
  peak_resident_seq INTEGER,
  live_at_peak_resident INTEGER,
  fragmentation_at_peak REAL,
  jw3 REAL,
  jw4 REAL,
  avg_waste_bytes REAL,
  final_live_bytes INTEGER,
  final_resident_bytes INTEGER,
  snapshot_seq INTEGER,
  problems INTEGER,
  outcome TEXT,
  digest TEXT,
  counterfactual TEXT))sql";

// Added with `atr whatif`; replays tables stored before it lack it.
const LaterColumn kReplaysLaterColumns[] = {{"counterfactual", "TEXT"}};

constexpr char kReplaySamplesTable[] = R"sql((
  replay_id INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  kind TEXT NOT NULL,
  live_objects INTEGER,
  live_bytes INTEGER,
  allocated_bytes INTEGER,
  internal_waste_bytes INTEGER,
  free_slot_bytes INTEGER,
  cached_bytes INTEGER,
  retained_bytes INTEGER,
  released_bytes INTEGER,
  resident_bytes INTEGER,
  mapped_bytes INTEGER))sql";

constexpr char kReplaySpansTable[] = R"sql((
  replay_id INTEGER NOT NULL,
  span_address INTEGER NOT NULL,
  size_class INTEGER,
  object_size INTEGER,
  pages INTEGER,
  capacity INTEGER,
  cached INTEGER,
  live_objects INTEGER,
  live_requested_bytes INTEGER,
  free_bytes INTEGER,
  PRIMARY KEY(replay_id, span_address)) WITHOUT ROWID)sql";

constexpr char kReplayBlameTable[] = R"sql((
  replay_id INTEGER NOT NULL,
  span_address INTEGER NOT NULL,
  allocation_id INTEGER NOT NULL,
  PRIMARY KEY(replay_id, span_address, allocation_id)) WITHOUT ROWID)sql";

constexpr char kReplayProblemsTable[] = R"sql((
  replay_id INTEGER NOT NULL,
  kind TEXT NOT NULL,
  pid INTEGER,
  addr INTEGER,
  seq INTEGER,
  ts_ns INTEGER,
  tid INTEGER,
  op INTEGER,
  stack INTEGER,
  size INTEGER,
  alloc_seq INTEGER,
  alloc_stack INTEGER,
  alloc_tid INTEGER,
  release_seq INTEGER,
  release_stack INTEGER,
  release_tid INTEGER,
  detail TEXT))sql";

const SchemaObject kReplayObjects[] = {
    {K::kTable, "replays", kReplaysTable, kReplaysLaterColumns},
    {K::kTable, "replay_samples", kReplaySamplesTable},
    {K::kIndex, "replay_samples_by_replay", " ON replay_samples(replay_id, seq)"},
    {K::kTable, "replay_spans", kReplaySpansTable},
    {K::kTable, "replay_blame", kReplayBlameTable},
    {K::kTable, "replay_problems", kReplayProblemsTable},
};

// ---- kStackDepthReplay -----------------------------------------------------

constexpr char kReplayStackThreadsTable[] = R"sql((
  replay_id INTEGER NOT NULL,   -- replays.id
  pid INTEGER NOT NULL,
  tid INTEGER NOT NULL,
  stack_size INTEGER NOT NULL,  -- bytes checked (--stack-size)
  exact INTEGER NOT NULL,       -- 1: enter/exit stream; 0: sampled sp_depth only
  events INTEGER NOT NULL,      -- events with a known depth
  func_events INTEGER NOT NULL, -- enter/exit events
  max_frames INTEGER NOT NULL,  -- deepest instrumented call path, frames
  max_depth INTEGER NOT NULL,   -- bytes
  max_seq INTEGER,
  max_stack INTEGER,            -- stacks.id: the path at the deepest point
  overflow_seq INTEGER,         -- first event deeper than stack_size; NULL: none
  overflow_ts_ns INTEGER,
  overflow_depth INTEGER,
  overflow_stack INTEGER,       -- stacks.id: the path there
  PRIMARY KEY(replay_id, pid, tid)) WITHOUT ROWID)sql";

const SchemaObject kStackDepthReplayObjects[] = {
    {K::kTable, "replay_stack_threads", kReplayStackThreadsTable},
};

// ---- kSourceSites ----------------------------------------------------------

constexpr char kSitesTable[] = R"sql((
  id INTEGER PRIMARY KEY,
  file TEXT NOT NULL,
  line INTEGER NOT NULL,
  column INTEGER NOT NULL,
  end_line INTEGER NOT NULL,
  function TEXT,
  function_line INTEGER,
  function_end_line INTEGER,
  kind TEXT NOT NULL,
  type TEXT,
  type_size INTEGER,
  bytes INTEGER,
  in_loop INTEGER NOT NULL,
  template TEXT,
  detail TEXT))sql";

constexpr char kSiteMatchesTable[] = R"sql((
  frame_id INTEGER NOT NULL,
  depth INTEGER NOT NULL,
  how TEXT NOT NULL,
  site_id INTEGER NOT NULL REFERENCES sites(id),
  PRIMARY KEY(frame_id, depth, how)) WITHOUT ROWID)sql";

const SchemaObject kSourceSitesObjects[] = {
    {K::kTable, "sites", kSitesTable},
    {K::kTable, "site_matches", kSiteMatchesTable},
    {K::kIndex, "site_matches_by_site", " ON site_matches(site_id)"},
};

// ---- kSpoolProgress --------------------------------------------------------

constexpr char kSpoolProgressTable[] =
    "(id INTEGER PRIMARY KEY, file TEXT NOT NULL UNIQUE, pid INTEGER NOT NULL, "
    "image INTEGER NOT NULL, committed_offset INTEGER NOT NULL, ref_tsc INTEGER NOT NULL, "
    "ref_mono_ns INTEGER NOT NULL, tsc_hz INTEGER NOT NULL, first_module_row INTEGER NOT NULL, "
    "terminated INTEGER NOT NULL)";

constexpr char kSpoolStacksTable[] =
    "(file_id INTEGER NOT NULL, hash INTEGER NOT NULL, "
    "stack INTEGER NOT NULL, PRIMARY KEY(file_id, hash)) WITHOUT ROWID";

const SchemaObject kSpoolProgressObjects[] = {
    {K::kTable, "spool_progress", kSpoolProgressTable},
    {K::kTable, "spool_stacks", kSpoolStacksTable},
};

}  // namespace

absl::Span<const SchemaObject> GroupObjects(TableGroup group) {
  switch (group) {
    case TableGroup::kMeta: return kMetaObjects;
    case TableGroup::kRecording: return kRecordingObjects;
    case TableGroup::kAllocationResults: return kAllocationResultsObjects;
    case TableGroup::kReplay: return kReplayObjects;
    case TableGroup::kStackDepthReplay: return kStackDepthReplayObjects;
    case TableGroup::kSourceSites: return kSourceSitesObjects;
    case TableGroup::kSpoolProgress: return kSpoolProgressObjects;
  }
  return {};
}

std::string CreateStatement(const SchemaObject& object) {
  const char* kind = "TABLE";
  if (object.kind == SchemaObjectKind::kView) kind = "VIEW";
  if (object.kind == SchemaObjectKind::kIndex) kind = "INDEX";
  return absl::StrCat("CREATE ", kind, " IF NOT EXISTS ", object.name, object.definition);
}

const LaterColumn* FindLaterColumn(std::string_view table, std::string_view column) {
  for (TableGroup group : kAllTableGroups) {
    for (const SchemaObject& o : GroupObjects(group)) {
      if (o.name != table) continue;
      for (const LaterColumn& c : o.later_columns) {
        if (c.name == column) return &c;
      }
    }
  }
  return nullptr;
}

}  // namespace atr::db_internal
