// RenderFlameSvg: a FlameGraph as one self-contained interactive SVG (no
// network, no external script or font): one rectangle per frame, width
// proportional to its weight, root at the bottom, children left to right by
// name; text clipped to the rectangle; colors by kind (user code warm,
// inlined user code lighter, runtime/allocator blue, unknown grey); a
// <title> tooltip per frame ("name\n1.2 MiB (45.1%)", then one line per
// source site allocating there, "new Session (184 B) at s.cc:12 in f(): 1.00
// MiB", when `atr sites` ran); an embedded script for click-to-zoom, "Reset
// Zoom", and "Search" (regular expression over names and site labels:
// matches turn magenta and the matched share of the visible width is shown).
//
// The same SVG works standalone and inlined into HTML (atr report): the
// script is a CDATA section, uses no ids, and finds its own <svg> element.
// It exposes svg.atrFlame = {search(term), reset()} and sets
// data-drawn="1" on the <svg> once it is ready.
//
//   std::string svg = RenderFlameSvg(graph, {.title = "Allocated bytes"});
#ifndef ATR_ANALYSIS_RENDER_FLAME_SVG_H_
#define ATR_ANALYSIS_RENDER_FLAME_SVG_H_

#include <string>

#include "analysis/model/flame_graph.h"

namespace atr {

struct FlameSvgOptions {
  std::string title{};            // default: "Flame graph: <metric description>"
  std::string subtitle{};         // default: "<trace> — <total> in <stacks> stacks"
  int width = 1200;             // px (the SVG scales: it has a viewBox)
  int frame_height = 17;        // px per frame row
  double min_frame_px = 0.3;    // narrower frames (and what is above them) are not drawn
  bool xml_declaration = true;  // false when inlined into HTML
};

std::string RenderFlameSvg(const FlameGraph& g, const FlameSvgOptions& options = {});

// "1.50 MiB" or "1,234 allocations": a weight in the metric's unit.
std::string FormatFlameWeight(FlameMetric m, int64_t weight);

}  // namespace atr

#endif  // ATR_ANALYSIS_RENDER_FLAME_SVG_H_
