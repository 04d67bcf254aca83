// JsonWriter: a small streaming JSON emitter for the reports' --json output.
//
// It writes straight to a std::string, escapes every string (symbol names
// can hold anything), and tracks commas itself so report code reads like
// the document it produces:
//
//   JsonWriter j;
//   j.BeginObject();
//   j.Key("events").Int(42);
//   j.Key("ops").BeginArray(); j.String("malloc"); j.EndArray();
//   j.EndObject();
//   std::puts(j.str().c_str());
//
// Integers are written exactly (int64/uint64); doubles with enough digits to
// round-trip. Field names used by reports are documented in docs/queries.md
// and are stable.
#ifndef ATR_BASE_JSON_WRITER_H_
#define ATR_BASE_JSON_WRITER_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace atr {

class JsonWriter {
 public:
  JsonWriter& BeginObject();
  JsonWriter& EndObject();
  JsonWriter& BeginArray();
  JsonWriter& EndArray();
  JsonWriter& Key(std::string_view key);
  JsonWriter& String(std::string_view value);
  JsonWriter& Int(int64_t value);
  JsonWriter& Uint(uint64_t value);
  JsonWriter& Double(double value);
  JsonWriter& Bool(bool value);
  JsonWriter& Null();

  const std::string& str() const { return out_; }

  // Appends `s` to `out` as a quoted, escaped JSON string.
  static void AppendQuoted(std::string& out, std::string_view s);

 private:
  void BeforeValue();
  std::string out_;
  std::vector<bool> first_;  // one per open container: no element written yet
  bool after_key_ = false;
};

}  // namespace atr

#endif  // ATR_BASE_JSON_WRITER_H_
