// A strict parser of the Prometheus text exposition format 0.0.4, for tests of /metrics:
// every line is HELP, TYPE or a sample; each family's HELP and TYPE come once, before its
// samples, which are contiguous; names and labels are valid; no series repeats; counters are
// named *_total and never negative; histograms have increasing `le` buckets ending in +Inf,
// cumulative counts, and _sum and _count, with the +Inf bucket equal to _count.
#ifndef TESTS_SUPPORT_PROMETHEUS_TEXT_H_
#define TESTS_SUPPORT_PROMETHEUS_TEXT_H_

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace testing {

using PromLabels = std::map<std::string, std::string>;

struct PromSample {
  std::string name;  // e.g. meshvault_vault_get_duration_seconds_bucket
  PromLabels labels;
  double value = 0;
};

struct PromFamily {
  std::string type, help;
  std::vector<PromSample> samples;
};

class PromText {
 public:
  // Parses `text`; returns "" or the first problem, with its line number.
  std::string Parse(std::string_view text);
  const std::map<std::string, PromFamily>& families() const { return families_; }
  // The value of one series; -1 when absent.
  double Value(const std::string& name, const PromLabels& labels = {}) const;

 private:
  std::map<std::string, PromFamily> families_;
};

}  // namespace testing

#endif  // TESTS_SUPPORT_PROMETHEUS_TEXT_H_
