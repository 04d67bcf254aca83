#include "base/status_macros.h"

#include <memory>
#include <string>

#include "gtest/gtest.h"

namespace atr {
namespace {

absl::StatusOr<int> Half(int n) {
  if (n % 2 != 0) return absl::InvalidArgumentError("odd");
  return n / 2;
}

absl::Status Check(int n, int* calls) {
  ++*calls;
  return n < 0 ? absl::OutOfRangeError("negative") : absl::OkStatus();
}

absl::StatusOr<int> Quarter(int n) {
  ATR_ASSIGN_OR_RETURN(int half, Half(n));
  ATR_ASSIGN_OR_RETURN(half, Half(half));  // assigns to an existing variable
  return half;
}

absl::Status CheckTwice(int a, int b, int* calls) {
  ATR_RETURN_IF_ERROR(Check(a, calls));
  ATR_RETURN_IF_ERROR(Check(b, calls));
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<int>> Boxed(bool ok) {
  if (!ok) return absl::NotFoundError("none");
  return std::make_unique<int>(7);
}

absl::StatusOr<int> Unbox(bool ok) {
  ATR_ASSIGN_OR_RETURN(std::unique_ptr<int> p, Boxed(ok));  // move-only values move out
  return *p;
}

TEST(StatusMacrosTest, AssignOrReturnUnwrapsOrReturnsTheError) {
  EXPECT_EQ(*Quarter(12), 3);
  absl::StatusOr<int> odd = Quarter(6);  // 6 -> 3, then Half(3) fails
  ASSERT_FALSE(odd.ok());
  EXPECT_EQ(odd.status(), absl::InvalidArgumentError("odd"));
  EXPECT_EQ(*Unbox(true), 7);
  EXPECT_EQ(Unbox(false).status().code(), absl::StatusCode::kNotFound);
}

TEST(StatusMacrosTest, ReturnIfErrorStopsAtTheFirstError) {
  int calls = 0;
  EXPECT_TRUE(CheckTwice(1, 2, &calls).ok());
  EXPECT_EQ(calls, 2);
  calls = 0;
  EXPECT_EQ(CheckTwice(-1, 2, &calls), absl::OutOfRangeError("negative"));
  EXPECT_EQ(calls, 1);  // the second check never ran
}

}  // namespace
}  // namespace atr
