// clang++ -fsyntax-only input for bench/record/run.sh: heavy standard headers.
#include <algorithm>
#include <any>
#include <array>
#include <atomic>
#include <chrono>
#include <complex>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <iomanip>
#include <iostream>
#include <list>
#include <locale>
#include <map>
#include <memory>
#include <numeric>
#include <optional>
#include <random>
#include <regex>
#include <set>
#include <shared_mutex>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <valarray>
#include <variant>
#include <vector>

int main() {
  std::map<std::string, std::vector<int>> m{{"a", {1, 2}}};
  std::regex re("[a-z]+");
  std::unordered_map<int, std::variant<int, std::string>> u;
  std::cout << std::boolalpha << std::regex_match("abc", re) << m.size() << u.size() << '\n';
}
