// SiteLabels: what the source says a recorded stack allocates.
//
// `atr sites` stores the allocation sites of the program's source in the
// trace (docs/sites.md). A report that shows a stack's site calls Label()
// instead of using StackView::site_label directly: when the stack's site
// line (StackView::site_line, through inlined frames) is a scanned site,
// the label names the type and the source line,
//
//   "new Session (184 B) at server.cc:212 in accept_loop()"
//
// otherwise it is the plain StackView::site_label, so a report reads the
// same on a trace that was never given sites.
//
//   ATR_ASSIGN_OR_RETURN(SiteLabels labels, SiteLabels::Load(reader));  // once per report
//   StackViews views(&reader);
//   ATR_ASSIGN_OR_RETURN(const StackView* v, views.Get(stack_id));
//   row.site = labels.Label(*v);
//   // JSON: j.Key("source_site"); WriteSiteJson(j, labels.Find(*v));
//
// REQUIRES: the reader outlives the SiteLabels. Not thread-safe (it reads
// frames through the reader's cache).
#ifndef ATR_ANALYSIS_MODEL_SITE_LABEL_H_
#define ATR_ANALYSIS_MODEL_SITE_LABEL_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "analysis/model/stack_view.h"
#include "analysis/sites/site_matcher.h"
#include "analysis/sites/source_site.h"
#include "base/report_table.h"
#include "db/trace_reader.h"

namespace atr {

class JsonWriter;

// A stack's matched site and its label.
struct SiteAnnotation {
  SourceSite site;
  std::string label;  // "new Session (184 B) at server.cc:212 in accept_loop()"
};

class SiteLabels {
 public:
  // Reads the trace's `sites` table. A trace without one loads fine and
  // matches nothing.
  static absl::StatusOr<SiteLabels> Load(TraceReader& reader);

  SiteLabels(SiteLabels&&) noexcept;
  SiteLabels& operator=(SiteLabels&&) noexcept;
  ~SiteLabels();

  // The trace has scanned sites at all.
  bool empty() const;

  // The source site of the stack's site line, or nullopt (no sites, site
  // line not scanned, unsymbolized).
  std::optional<SiteAnnotation> Find(const StackView& view) const;
  // Find(view)->label, or view.site_label when nothing matched.
  std::string Label(const StackView& view) const;

 private:
  SiteLabels(TraceReader* reader, std::unique_ptr<SiteMatcher> matcher);
  TraceReader* reader_;
  std::unique_ptr<SiteMatcher> matcher_;
};

// "new Session (184 B) at server.cc:212 in accept_loop()".
std::string SiteLabelText(const SourceSite& s);

// Which fields a site is written with: the `source_site` object of a
// report's stack, or the `atr sites` list, which adds end_line.
enum class SiteFields { kAnnotation, kList };

// One row per site, the column names being the JSON keys (id, kind, type,
// type_size, bytes, file, line, column, [end_line,] function, in_loop,
// template, detail, label; docs/sites.md). The one definition of a site's
// fields: the `atr sites` list renders it, WriteSiteJson writes its row.
ReportTable SourceSiteTable(const std::vector<SourceSite>& sites, SiteFields fields);

// Writes the annotation as a JSON object (SourceSiteTable's kAnnotation
// fields), or null.
void WriteSiteJson(JsonWriter& j, const std::optional<SiteAnnotation>& a);

}  // namespace atr

#endif  // ATR_ANALYSIS_MODEL_SITE_LABEL_H_
