#include "prometheus_text.h"

#include <cmath>
#include <cstdlib>
#include <regex>
#include <set>

namespace testing {
namespace {

const std::regex kMetricName("[a-zA-Z_:][a-zA-Z0-9_:]*");
const std::regex kLabelName("[a-zA-Z_][a-zA-Z0-9_]*");

bool ParseValue(const std::string& s, double* out) {
  if (s == "+Inf") return *out = INFINITY, true;
  if (s == "-Inf") return *out = -INFINITY, true;
  if (s == "NaN") return *out = NAN, true;
  if (s.empty()) return false;
  char* end = nullptr;
  *out = std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size();
}

// name{a="x",b="y"} value
std::string ParseSample(const std::string& line, PromSample* out) {
  size_t i = 0;
  while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
  out->name = line.substr(0, i);
  if (!std::regex_match(out->name, kMetricName)) return "bad metric name '" + out->name + "'";
  if (i < line.size() && line[i] == '{') {
    ++i;
    while (i < line.size() && line[i] != '}') {
      size_t eq = line.find('=', i);
      if (eq == std::string::npos) return "label without '='";
      const std::string label = line.substr(i, eq - i);
      if (!std::regex_match(label, kLabelName)) return "bad label name '" + label + "'";
      if (eq + 1 >= line.size() || line[eq + 1] != '"') return "label value not quoted";
      std::string value;
      size_t j = eq + 2;
      for (; j < line.size() && line[j] != '"'; ++j) {
        if (line[j] == '\\') {
          if (++j >= line.size()) return "dangling escape";
          if (line[j] == 'n') {
            value += '\n';
          } else if (line[j] == '\\' || line[j] == '"') {
            value += line[j];
          } else {
            return "bad escape in label value";
          }
        } else {
          value += line[j];
        }
      }
      if (j >= line.size()) return "unterminated label value";
      if (!out->labels.emplace(label, value).second) return "label '" + label + "' repeated";
      i = j + 1;
      if (i < line.size() && line[i] == ',') ++i;
    }
    if (i >= line.size()) return "unterminated label set";
    ++i;  // '}'
  }
  if (i >= line.size() || line[i] != ' ') return "no space before the value";
  std::string rest = line.substr(i + 1);
  if (auto sp = rest.find(' '); sp != std::string::npos) {
    const std::string ts = rest.substr(sp + 1);
    if (ts.empty() || ts.find_first_not_of("-0123456789") != std::string::npos) {
      return "bad timestamp";
    }
    rest.resize(sp);
  }
  if (!ParseValue(rest, &out->value)) return "bad value '" + rest + "'";
  return "";
}

std::string CheckHistogram(const std::string& name, const PromFamily& f) {
  std::map<PromLabels, std::vector<std::pair<double, double>>> buckets;  // by other labels
  std::map<PromLabels, double> sums, counts;
  for (const auto& s : f.samples) {
    PromLabels rest = s.labels;
    if (s.name == name + "_bucket") {
      auto le = rest.find("le");
      if (le == rest.end()) return "bucket without le";
      double bound;
      if (!ParseValue(le->second, &bound)) return "bad le '" + le->second + "'";
      rest.erase(le);
      buckets[rest].push_back({bound, s.value});
    } else if (s.name == name + "_sum") {
      sums[rest] = s.value;
    } else if (s.name == name + "_count") {
      counts[rest] = s.value;
    }
  }
  if (buckets.empty()) return "histogram without buckets";
  for (const auto& [labels, b] : buckets) {
    for (size_t i = 1; i < b.size(); ++i) {
      if (!(b[i].first > b[i - 1].first)) return "le not increasing";
      if (b[i].second < b[i - 1].second) return "bucket counts not cumulative";
    }
    if (!std::isinf(b.back().first)) return "no +Inf bucket";
    if (!counts.count(labels) || !sums.count(labels)) return "histogram without _sum or _count";
    if (counts.at(labels) != b.back().second) return "+Inf bucket differs from _count";
  }
  return "";
}

}  // namespace

std::string PromText::Parse(std::string_view text) {
  families_.clear();
  if (text.empty() || text.back() != '\n') return "the text does not end with a newline";
  std::set<std::string> closed;  // families whose samples are over
  std::set<std::pair<std::string, PromLabels>> series;
  std::string current;  // family of the previous sample
  size_t line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t nl = text.find('\n', pos);
    const std::string line(text.substr(pos, nl - pos));
    pos = nl + 1;
    ++line_no;
    const auto fail = [&](const std::string& why) {
      return "line " + std::to_string(line_no) + ": " + why + ": " + line;
    };
    if (line.empty()) return fail("empty line");
    if (line[0] == '#') {
      const bool help = line.rfind("# HELP ", 0) == 0, type = line.rfind("# TYPE ", 0) == 0;
      if (!help && !type) return fail("comment that is neither HELP nor TYPE");
      const std::string rest = line.substr(7);
      const size_t sp = rest.find(' ');
      if (sp == std::string::npos) return fail("no text after the name");
      const std::string name = rest.substr(0, sp), value = rest.substr(sp + 1);
      if (!std::regex_match(name, kMetricName)) return fail("bad metric name");
      PromFamily& f = families_[name];
      if (!f.samples.empty() || closed.count(name)) return fail("HELP or TYPE after samples");
      if (help) {
        if (!f.help.empty()) return fail("second HELP");
        f.help = value;
      } else {
        if (!f.type.empty()) return fail("second TYPE");
        static const std::set<std::string> kTypes = {"counter", "gauge", "histogram", "summary",
                                                     "untyped"};
        if (!kTypes.count(value)) return fail("unknown type");
        f.type = value;
      }
      if (!current.empty()) closed.insert(current);
      current.clear();
      continue;
    }
    PromSample s;
    if (std::string why = ParseSample(line, &s); !why.empty()) return fail(why);
    std::string family = s.name;
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      const std::string sfx = suffix;
      if (s.name.size() > sfx.size() && s.name.ends_with(sfx)) {
        const std::string base = s.name.substr(0, s.name.size() - sfx.size());
        if (families_.count(base) && families_[base].type == "histogram") family = base;
      }
    }
    auto it = families_.find(family);
    if (it == families_.end() || it->second.type.empty()) return fail("sample without TYPE");
    if (it->second.help.empty()) return fail("sample without HELP");
    if (family != current) {
      if (closed.count(family) || !it->second.samples.empty()) return fail("family split up");
      if (!current.empty()) closed.insert(current);
      current = family;
    }
    if (!series.insert({s.name, s.labels}).second) return fail("series repeated");
    if (it->second.type == "counter") {
      if (!family.ends_with("_total")) return fail("counter not named *_total");
      if (!(s.value >= 0)) return fail("negative counter");
    }
    it->second.samples.push_back(std::move(s));
  }
  for (const auto& [name, f] : families_) {
    if (f.type == "histogram") {
      if (std::string why = CheckHistogram(name, f); !why.empty()) return name + ": " + why;
    }
  }
  return "";
}

double PromText::Value(const std::string& name, const PromLabels& labels) const {
  for (const auto& [family, f] : families_) {
    for (const auto& s : f.samples) {
      if (s.name == name && s.labels == labels) return s.value;
    }
  }
  return -1;
}

}  // namespace testing
