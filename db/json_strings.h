// JSON arrays of strings, internal to db/: how argv is stored in `meta` and
// `processes`, so the sqlite3 shell can take it apart with json_each().
//
//   std::string j = EncodeJsonStrings({"ls", "-l"});   // ["ls","-l"]
//   absl::StatusOr<std::vector<std::string>> v = DecodeJsonStrings(j);
#ifndef ATR_DB_JSON_STRINGS_H_
#define ATR_DB_JSON_STRINGS_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace atr::db_internal {

// Bytes that are not valid UTF-8 are written as \u00XX escapes of the byte
// (argv is bytes, not text), so encoding never fails.
std::string EncodeJsonStrings(const std::vector<std::string>& values);

// Accepts what EncodeJsonStrings writes and any JSON array of strings.
absl::StatusOr<std::vector<std::string>> DecodeJsonStrings(std::string_view json);

}  // namespace atr::db_internal

#endif  // ATR_DB_JSON_STRINGS_H_
