// The queueing configs in models/queueing/ against queueing theory.
//
// Method: independent replications. Each model runs R = 20 times with seeds
// 1001..1020; every replication gives one estimate of each quantity (its run
// average), and the 99% confidence interval mean +- t(0.995, R-1) s / sqrt(R)
// from those R independent estimates must contain the analytic value. The
// analytic values are computed here from the parameters in the config files
// (read through load_model), so a config edit is tested, not ignored.
//
// Warm-up: runs start empty and every statistic averages over the whole run,
// so each replication mean carries an initialization bias of order
// (relaxation time x steady-state level) / run length. The run lengths below
// make that bias a small fraction (< 1/10) of the confidence half-width; see
// models/queueing/README.md for the numbers.
//
// DSIM_TEST_SCALE (a positive float; default 1, or 0.2 in sanitizer builds)
// scales every run length. The intervals stay honest (they widen); only the
// precision guard (the half-width must be small enough for the test to mean
// something) is relaxed by 1/sqrt(scale).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include "dsim/dsim.hpp"

namespace {

constexpr int kReplications = 20;
constexpr std::uint64_t kFirstSeed = 1001;

// Sanitizer builds run about 25 times slower: shorter runs by default.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr double kDefaultScale = 0.2;
#else
constexpr double kDefaultScale = 1.0;
#endif

double test_scale() {
  const char* text = std::getenv("DSIM_TEST_SCALE");
  if (text == nullptr || *text == '\0') return kDefaultScale;
  char* end = nullptr;
  const double scale = std::strtod(text, &end);
  if (end == text || *end != '\0' || !(scale > 0) || !std::isfinite(scale)) {
    ADD_FAILURE() << "DSIM_TEST_SCALE must be a positive number, got '" << text << "'";
    return kDefaultScale;
  }
  return scale;
}

// t quantile at 0.995 (two-sided 99%) for the given degrees of freedom.
double t995(int df) {
  static const double table[] = {63.657, 9.925, 5.841, 4.604, 4.032, 3.707, 3.499, 3.355,
                                 3.250,  3.169, 3.106, 3.055, 3.012, 2.977, 2.947, 2.921,
                                 2.898,  2.878, 2.861, 2.845, 2.831, 2.819, 2.807, 2.797,
                                 2.787,  2.779, 2.771, 2.763, 2.756, 2.750};
  if (df >= 1 && df <= 30) return table[df - 1];
  return 2.576;  // normal limit; within 3% for df > 30
}

struct Interval {
  double mean;
  double half_width;
};

Interval ci99(const std::vector<double>& xs) {
  const auto n = static_cast<double>(xs.size());
  double sum = 0;
  for (double x : xs) sum += x;
  const double mean = sum / n;
  double ss = 0;
  for (double x : xs) ss += (x - mean) * (x - mean);
  const double sd = std::sqrt(ss / (n - 1));
  return {mean, t995(static_cast<int>(xs.size()) - 1) * sd / std::sqrt(n)};
}

// ---- the configs' parameters --------------------------------------------

const dsim::GroupSpec& group_of(const dsim::ModelSpec& spec, const std::string& name) {
  for (const auto& g : spec.groups)
    if (g.name == name) return g;
  throw dsim::Error("test: no group '" + name + "' in " + spec.file);
}

double mean_of(const dsim::ModelSpec& spec, const std::string& group, const std::string& param) {
  const auto& value = group_of(spec, group).params.at(param);
  return dsim::Distribution::parse(std::get<std::string>(value)).mean();
}

std::int64_t int_of(const dsim::ModelSpec& spec, const std::string& group,
                    const std::string& param) {
  return std::get<std::int64_t>(group_of(spec, group).params.at(param));
}

// Probability that a job leaving `from` goes to `to` (link weights).
double route_probability(const dsim::ModelSpec& spec, const std::string& from,
                         const std::string& to) {
  double total = 0, chosen = 0;
  for (const auto& l : spec.links) {
    if (l.from != from) continue;
    total += l.weight;
    if (l.to == to) chosen += l.weight;
  }
  return chosen / total;
}

// ---- queueing theory ------------------------------------------------------

struct Theory {
  double wq;           // mean wait in line
  double lq;           // time-average number waiting
  double w;            // mean time in the station
  double l;            // time-average number in the station
  double utilization;  // busy servers / servers
  double blocking;     // probability an arrival is turned away
};

// M/M/c/K with arrival rate lambda, service rate mu per server; K = 0: no limit.
Theory mmck(double lambda, double mu, int c, int capacity) {
  const double a = lambda / mu;
  Theory t{};
  if (capacity == 0) {  // Erlang C
    const double rho = a / c;
    double sum = 0, term = 1;  // term = a^k / k!
    for (int k = 0; k < c; ++k) {
      sum += term;
      term *= a / (k + 1);
    }
    const double tail = term / (1 - rho);  // a^c / (c! (1 - rho))
    const double wait_probability = tail / (sum + tail);
    t.lq = wait_probability * rho / (1 - rho);
    t.wq = t.lq / lambda;
    t.w = t.wq + 1 / mu;
    t.l = t.lq + a;
    t.utilization = rho;
    t.blocking = 0;
    return t;
  }
  std::vector<double> p(capacity + 1);
  double term = 1, norm = 0;
  for (int n = 0; n <= capacity; ++n) {
    p[n] = term;
    norm += term;
    term *= a / std::min(n + 1, c);
  }
  double busy = 0;
  for (int n = 0; n <= capacity; ++n) {
    p[n] /= norm;
    t.lq += std::max(n - c, 0) * p[n];
    t.l += n * p[n];
    busy += std::min(n, c) * p[n];
  }
  t.blocking = p[capacity];
  const double admitted = lambda * (1 - t.blocking);
  t.wq = t.lq / admitted;
  t.w = t.l / admitted;
  t.utilization = busy / c;
  return t;
}

// Theory for one queue group of a config, given its arrival rate.
Theory station(const dsim::ModelSpec& spec, const std::string& name, double lambda) {
  return mmck(lambda, 1 / mean_of(spec, name, "service"),
              static_cast<int>(int_of(spec, name, "servers")),
              static_cast<int>(int_of(spec, name, "capacity")));
}

// ---- running replications ---------------------------------------------------

using Measures = std::map<std::string, double>;

struct Experiment {
  std::string config;  // file name in models/queueing/
  double run_length;   // simulated time per replication, before scaling
  // What one replication measures.
  std::function<Measures(const dsim::RunResult&, double end_time)> measure;
};

struct Outcome {
  dsim::ModelSpec spec;  // the first replication's resolved spec
  std::map<std::string, std::vector<double>> samples;
};

Outcome replicate(const Experiment& e) {
  dsim::Registry registry;
  dsim::register_builtins(registry);
  const double end_time = e.run_length * test_scale();
  Outcome out;
  for (int r = 0; r < kReplications; ++r) {
    auto spec = dsim::load_model(std::string(DSIM_SOURCE_DIR) + "/models/queueing/" + e.config,
                                 {"simulation.seed=" + std::to_string(kFirstSeed + r),
                                  "simulation.end_time=" + std::to_string(end_time),
                                  "simulation.threads=1", "simulation.sync=\"sequential\""});
    dsim::validate(spec, registry);
    if (r == 0) out.spec = spec;
    dsim::Simulation sim(std::move(spec), registry);
    const auto result = sim.run();
    for (const auto& [name, value] : e.measure(result, end_time))
      out.samples[name].push_back(value);
  }
  return out;
}

// Checks that `analytic` lies in the 99% interval of `name`, and that the
// interval is narrower than `max_relative_width` x analytic (scaled), so the
// check has teeth.
void check(const Outcome& o, const std::string& label, const std::string& name, double analytic,
           double max_relative_width) {
  const Interval ci = ci99(o.samples.at(name));
  std::cout << "  " << label << " " << name << ": " << ci.mean << " +- " << ci.half_width
            << " (99%), analytic " << analytic << "\n";
  EXPECT_LE(std::fabs(ci.mean - analytic), ci.half_width)
      << label << " " << name << ": analytic " << analytic << " outside the 99% interval "
      << ci.mean << " +- " << ci.half_width;
  EXPECT_LT(ci.half_width, max_relative_width * std::fabs(analytic) / std::sqrt(test_scale()))
      << label << " " << name << ": interval too wide to test anything";
  EXPECT_GT(ci.half_width, 0) << label << " " << name << ": replications are identical";
}

Measures single_station(const dsim::RunResult& r, double servers) {
  return {
      {"Wq", r.value("queue", "wait", "mean")},
      {"Lq", r.value("queue", "queue_length", "mean")},
      {"W", r.value("queue", "sojourn", "mean")},
      {"utilization", r.value("queue", "busy_servers", "mean") / servers},
      {"blocking", r.value("queue", "blocked", "total") / r.value("queue", "arrivals", "total")}};
}

void check_single_station(const std::string& config, double run_length, bool with_blocking) {
  Outcome o;
  {
    // The number of servers comes from the config, read once up front.
    dsim::Registry registry;
    dsim::register_builtins(registry);
    auto spec = dsim::load_model(std::string(DSIM_SOURCE_DIR) + "/models/queueing/" + config);
    dsim::validate(spec, registry);
    const double servers = static_cast<double>(int_of(spec, "queue", "servers"));
    o = replicate({config, run_length, [servers](const dsim::RunResult& r, double) {
                     return single_station(r, servers);
                   }});
  }
  const double lambda = 1 / mean_of(o.spec, "arrivals", "interarrival");
  const Theory t = station(o.spec, "queue", lambda);
  std::cout << config << " (" << kReplications << " replications of " << run_length * test_scale()
            << " time units)\n";
  check(o, config, "Wq", t.wq, 0.1);
  check(o, config, "Lq", t.lq, 0.1);
  check(o, config, "W", t.w, 0.1);
  check(o, config, "utilization", t.utilization, 0.02);
  if (with_blocking) check(o, config, "blocking", t.blocking, 0.05);
}

// Run lengths: the slowest-mixing quantity of each model gets a 99%
// half-width of a few percent, while the initialization bias stays below a
// tenth of it (README.md).
TEST(Queueing, MM1AtLoadHalf) { check_single_station("mm1.toml", 100000, false); }

TEST(Queueing, MM1AtLoadNinety) { check_single_station("mm1_rho09.toml", 1000000, false); }

TEST(Queueing, MMc) { check_single_station("mmc.toml", 100000, false); }

TEST(Queueing, MMcKBlocking) { check_single_station("mmck.toml", 100000, true); }

TEST(Queueing, TandemLine) {
  const Outcome o =
      replicate({"tandem.toml", 100000, [](const dsim::RunResult& r, double t) {
                   return Measures{{"throughput", r.value("sink", "count", "total") / t},
                                   {"W", r.value("sink", "sojourn", "mean")}};
                 }});
  // Burke: each station of the line is M/M/1 with the source's rate.
  const double lambda = 1 / mean_of(o.spec, "arrivals", "interarrival");
  double w = 0;
  for (const char* s : {"station1", "station2", "station3"}) w += station(o.spec, s, lambda).w;
  std::cout << "tandem.toml\n";
  check(o, "tandem", "throughput", lambda, 0.02);
  check(o, "tandem", "W", w, 0.05);
}

TEST(Queueing, JacksonNetworkWithFeedback) {
  const std::vector<std::string> stations = {"station1", "station2", "station3"};
  const Outcome o = replicate({"jackson.toml", 100000, [&](const dsim::RunResult& r, double t) {
                                 Measures m{{"throughput", r.value("sink", "count", "total") / t}};
                                 double total = 0;
                                 for (const auto& s : stations) {
                                   m["L_" + s] = r.value(s, "in_system", "mean");
                                   total += m["L_" + s];
                                 }
                                 m["L"] = total;
                                 return m;
                               }});
  // Traffic equations: lambda_1 = lambda_0 + p lambda_3, lambda_1 = lambda_2 =
  // lambda_3 (the line), p = the feedback router's weight back to station1.
  const double lambda0 = 1 / mean_of(o.spec, "arrivals", "interarrival");
  const double p = route_probability(o.spec, "feedback", "station1");
  const double lambda = lambda0 / (1 - p);
  std::cout << "jackson.toml (feedback " << p << ", station rate " << lambda << ")\n";
  double total = 0;
  for (const auto& s : stations) {
    const Theory t = station(o.spec, s, lambda);  // product form: each is M/M/c
    total += t.l;
    check(o, "jackson", "L_" + s, t.l, 0.1);
  }
  check(o, "jackson", "L", total, 0.1);
  check(o, "jackson", "throughput", lambda0, 0.02);
}

// The analytic formulas themselves, at the values quoted in the README.
TEST(Queueing, FormulasMatchKnownValues) {
  const Theory mm1 = mmck(0.5, 1, 1, 0);
  EXPECT_NEAR(mm1.wq, 1.0, 1e-12);
  EXPECT_NEAR(mm1.lq, 0.5, 1e-12);
  const Theory heavy = mmck(0.9, 1, 1, 0);
  EXPECT_NEAR(heavy.wq, 9.0, 1e-9);
  EXPECT_NEAR(heavy.lq, 8.1, 1e-9);
  const Theory m3 = mmck(2.1, 1, 3, 0);
  EXPECT_NEAR(m3.wq, 0.54704944, 1e-8);
  EXPECT_NEAR(m3.lq, 1.14880383, 1e-8);
  const Theory m25 = mmck(2, 1, 2, 5);
  EXPECT_NEAR(m25.blocking, 2.0 / 11, 1e-12);
  EXPECT_NEAR(m25.lq, 12.0 / 11, 1e-12);
  EXPECT_NEAR(m25.wq, 2.0 / 3, 1e-12);
  EXPECT_NEAR(m25.utilization, 9.0 / 11, 1e-12);
  // M/M/c/K with K large tends to M/M/c.
  const Theory big = mmck(2.1, 1, 3, 400);
  EXPECT_NEAR(big.lq, m3.lq, 1e-9);
  EXPECT_NEAR(big.utilization, m3.utilization, 1e-9);
}

}  // namespace
