#include "conf/config_file.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "conf/haproxy_loader.h"
#include "conf/json_loader.h"

namespace mqlb::conf {
namespace {

bool is_json(std::string_view text) {
  size_t first = text.find_first_not_of(" \t\r\n");
  return first != std::string_view::npos && text[first] == '{';
}

// A directory's *.cfg files in lexical order, as HAProxy 2.6 lists them.
std::vector<std::string> expand(const std::vector<std::string>& paths, std::vector<Error>& errors) {
  namespace fs = std::filesystem;
  std::vector<std::string> files;
  for (const std::string& path : paths) {
    std::error_code ec;
    if (!fs::is_directory(path, ec)) {
      files.push_back(path);
      continue;
    }
    std::vector<std::string> found;
    for (fs::directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) {
      const fs::path& p = it->path();
      std::error_code file_ec;
      if (p.extension() == ".cfg" && fs::is_regular_file(p, file_ec)) found.push_back(p.string());
    }
    if (ec) {
      errors.push_back({path, 0, "", "Cannot open directory '" + path + "' : " + ec.message()});
      continue;
    }
    std::sort(found.begin(), found.end());
    files.insert(files.end(), found.begin(), found.end());
  }
  return files;
}

}  // namespace

LoadResult load_text(std::string_view text, const std::string& file, const EnvLookup& env) {
  return is_json(text) ? load_json(text, file) : load_haproxy(text, file, env);
}

LoadResult load_files(const std::vector<std::string>& paths, const EnvLookup& env) {
  LoadResult result;
  std::vector<std::string> files = expand(paths, result.errors);
  std::vector<std::string> texts;
  texts.reserve(files.size());
  for (const std::string& file : files) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      result.errors.push_back(
          {file, 0, "",
           "Could not open configuration file " + file + " : " + std::strerror(errno)});
      continue;
    }
    std::stringstream text;
    text << in.rdbuf();
    texts.push_back(text.str());
  }
  if (!result.errors.empty()) return result;
  if (files.empty()) {
    result.errors.push_back({"", 0, "", "no configuration file found (an empty directory?)"});
    return result;
  }
  for (size_t i = 0; i < files.size(); ++i)
    if (is_json(texts[i])) {
      if (files.size() == 1) return load_json(texts[i], files[i]);
      result.errors.push_back({files[i], 0, "",
                               "a JSON configuration must be the only file, and " +
                                   std::to_string(files.size()) + " were given"});
      return result;
    }
  std::vector<SourceText> sources;
  for (size_t i = 0; i < files.size(); ++i)
    sources.push_back({files[i], texts[i]});
  return load_haproxy(sources, env);
}

}  // namespace mqlb::conf
