#ifndef ATR_RECORDER_SYMBOLIZER_TESTDATA_LIB_H_
#define ATR_RECORDER_SYMBOLIZER_TESTDATA_LIB_H_

namespace atr_testdata_lib {

// Probes "lib_inlined" from a helper inlined into LibEntry.
__attribute__((visibility("default"))) int LibEntry(int x);

}  // namespace atr_testdata_lib

#endif  // ATR_RECORDER_SYMBOLIZER_TESTDATA_LIB_H_
