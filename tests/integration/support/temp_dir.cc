#include "support/temp_dir.h"

#include <stdlib.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>

#include "support/failure.h"

namespace mqlb::test {

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "mqlb-it-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) {
    throw std::runtime_error("mkdtemp " + pattern + ": " + std::strerror(errno));
  }
  path_ = pattern;
}

TempDir::~TempDir() {
  if (test_failing() || std::getenv("MQLB_KEEP_TEST_DIRS") != nullptr) {
    std::cerr << "test files kept in " << path_.string() << "\n";
    return;
  }
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

std::filesystem::path TempDir::unique(const std::string& name) {
  const int n = ++used_[name];
  if (n == 1) return path_ / name;
  const std::filesystem::path p(name);
  return path_ / (p.stem().string() + "-" + std::to_string(n) + p.extension().string());
}

std::filesystem::path TempDir::write(const std::string& name, const std::string& text) {
  const auto path = unique(name);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out.flush()) throw std::runtime_error("cannot write " + path.string());
  return path;
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace mqlb::test
