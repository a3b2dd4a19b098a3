// A directory under /tmp for one test case: the config files it writes and
// the stdout/stderr of the processes it starts. Removed at the end unless the
// test failed or MQLB_KEEP_TEST_DIRS is set; a kept directory is named on
// stderr. Main thread.
#pragma once

#include <filesystem>
#include <map>
#include <string>

namespace mqlb::test {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }

  // A path in this directory for `name` ("mqlb.json"), never handed out twice
  // in this directory: the second one is "mqlb-2.json".
  std::filesystem::path unique(const std::string& name);

  // Writes `text` to unique(name) and returns that path.
  std::filesystem::path write(const std::string& name, const std::string& text);

 private:
  std::filesystem::path path_;
  std::map<std::string, int> used_;
};

// The whole content of a file, or "" when it does not exist.
std::string read_file(const std::filesystem::path& path);

}  // namespace mqlb::test
