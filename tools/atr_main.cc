// atr: allocation trace record & replay. See `atr --help`.
#include <cstdio>
#include <cerrno>
#include <cstring>
#include <map>
#include <string_view>

#include "tools/command.h"

namespace atr::cli {
namespace {

std::map<const CLI::App*, CommandBody>& Bodies() {
  static std::map<const CLI::App*, CommandBody> bodies;
  return bodies;
}

std::multimap<int, CommandRegistrar>& Registrars() {
  static std::multimap<int, CommandRegistrar> registrars;
  return registrars;
}

}  // namespace

std::vector<std::string>& ArgsAfterDashDash() {
  static std::vector<std::string> args;
  return args;
}

bool RegisterCommand(int order, CommandRegistrar registrar) {
  Registrars().emplace(order, registrar);
  return true;
}

void SetBody(CLI::App* sub, CommandBody body) { Bodies()[sub] = std::move(body); }

void AddReportFlags(CLI::App* sub, ReportFlags* flags) {
  auto* json = sub->add_flag("--json", flags->json,
                             "Machine-readable JSON (field names in docs/queries.md)");
  auto* csv = sub->add_flag("--csv", flags->csv, "Comma-separated values, one row per line");
  json->excludes(csv);
}

int Fail(const absl::Status& status) { return Fail(std::string(status.message())); }

int Fail(const std::string& message) {
  std::fprintf(stderr, "atr: %s\n", message.c_str());
  return kExitFailure;
}

int WriteOutput(const std::string& text, const std::string& path) {
  if (path.empty() || path == "-") {
    std::fwrite(text.data(), 1, text.size(), stdout);
    return kExitOk;
  }
  FILE* f = std::fopen(path.c_str(), "w");
  if (!f) return Fail("cannot write " + path + ": " + std::strerror(errno));
  bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  ok = (std::fclose(f) == 0) && ok;
  return ok ? kExitOk : Fail("cannot write " + path + ": " + std::strerror(errno));
}

}  // namespace atr::cli

int main(int argc, char** argv) {
  using namespace atr::cli;
  CLI::App app{"atr: allocation trace record & replay for C and C++ programs"};
  app.set_version_flag("--version", "atr " ATR_VERSION);
  app.require_subcommand(1);
  app.fallthrough(false);
  for (const auto& [order, registrar] : Registrars()) registrar(app);
  // Hidden, for tests: every registered subcommand, one per line (cli_test
  // checks each one's --help, and that `atr --help` lists them all).
  if (argc == 2 && std::string_view(argv[1]) == "--list-commands") {
    for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
      std::printf("%s\n", sub->get_name().c_str());
    }
    return kExitOk;
  }
  // Everything after the first "--" belongs to the command being recorded,
  // verbatim; CLI11 never sees it (it would reorder or interpret it).
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]) == "--") {
      ArgsAfterDashDash().assign(argv + i + 1, argv + argc);
      argc = i;
      break;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "atr: %s (see atr --help)\n", e.what());
    return kExitUsage;
  }
  for (const CLI::App* sub : app.get_subcommands()) {
    auto it = Bodies().find(sub);
    if (it != Bodies().end()) {
      try {
        return it->second();
      } catch (const std::exception& e) {  // no exception escapes main
        return Fail(std::string("internal error: ") + e.what());
      }
    }
  }
  return kExitUsage;
}
