// [limits] (per-client concurrency, weight and queue, with [limits.clients.NAME]
// overrides) and [admission] (the database-wide concurrency limit), and the
// checks that tie them to each other and to the pool sizes.
#include "config/config.h"
#include "config/loader.h"

#include <charconv>
#include <initializer_list>
#include <map>
#include <string>
#include <system_error>
#include <tuple>

namespace pgs::config::detail {
namespace {

constexpr std::string_view kLimitsKeys[] = {"client_key", "max_concurrency", "weight",
                                            "max_queue",  "queue_timeout_ms", "clients",
                                            "client_timeout_ms"};
constexpr std::string_view kClientOverrideKeys[] = {"max_concurrency", "weight", "max_queue", "queue_timeout_ms"};
constexpr std::string_view kAdmissionKeys[] = {"mode",          "min_limit",       "max_limit",
                                               "initial_limit", "codel_target_ms", "codel_interval_ms",
                                               "shed_wait_ms",  "latency_tolerance"};

constexpr Range kMaxConcurrency{0, 10000};
constexpr Range kWeight{1, 1000};
constexpr Range kMaxQueue{0, 100000};
constexpr Range kQueueTimeoutMs{1, 3600000};
constexpr Range kClientTimeoutMs{0, 86400000};
constexpr Range kMinLimit{1, 10000};
constexpr Range kMaxLimit{0, 10000};
constexpr Range kInitialLimit{1, 10000};
constexpr Range kCodelTargetMs{1, 10000};
constexpr Range kCodelIntervalMs{10, 60000};
constexpr Range kShedWaitMs{1, 60000};
constexpr FloatRange kLatencyTolerance{1.1, 10.0};

constexpr EnumName<ClientKey> kClientKeyNames[] = {{"address", ClientKey::Address},
                                                   {"user", ClientKey::User},
                                                   {"application_name", ClientKey::ApplicationName},
                                                   {"database", ClientKey::Database}};
constexpr EnumName<AdmissionMode> kAdmissionModes[] = {
    {"off", AdmissionMode::Off}, {"static", AdmissionMode::Static}, {"adaptive", AdmissionMode::Adaptive}};

constexpr KeyRef kMinLimitKey{"min_limit", "[admission]"};
constexpr KeyRef kMaxLimitKey{"max_limit", "[admission]"};
constexpr KeyRef kInitialLimitKey{"initial_limit", "[admission]"};

std::string range_text(FloatRange r) { return float_text(r.min) + ".." + float_text(r.max); }

}  // namespace

std::string float_text(double v) {
  char buffer[64];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, v);
  if (ec != std::errc()) return "?";
  std::string text(buffer, end);
  if (text.find_first_of(".eni") == std::string::npos) text += ".0";
  return text;
}

bool Loader::read_number(const toml::node& node, KeyRef k, FloatRange r, double& out) {
  note_place(k, node);
  double v = 0;
  std::string written;
  if (const auto* f = node.as_floating_point()) {
    v = f->get();
    written = float_text(v);
  } else if (const auto* i = node.as_integer()) {
    v = static_cast<double>(i->get());
    written = std::to_string(i->get());
  } else {
    error(node, describe(k) + " must be a number in " + range_text(r) + ", not " + type_name(node));
    return false;
  }
  if (!(v >= r.min && v <= r.max)) {  // written so that nan is refused too
    error(node, describe(k) + " is " + written + ", outside the allowed range " + range_text(r));
    return false;
  }
  out = v;
  return true;
}

void Loader::read_limits(const toml::table& t, LimitsSettings& l) {
  for (auto&& [key, node] : t) {
    KeyRef k{key.str(), "[limits]"};
    if (k.key == "client_key") {
      read_enum(node, k, kClientKeyNames, l.client_key);
    } else if (k.key == "max_concurrency") {
      if (read_integer(node, k, kMaxConcurrency, l.max_concurrency)) {
        max_concurrency_.push_back({"[limits]", &node, l.max_concurrency});
      }
    } else if (k.key == "weight") {
      read_integer(node, k, kWeight, l.weight);
    } else if (k.key == "max_queue") {
      read_integer(node, k, kMaxQueue, l.max_queue);
    } else if (k.key == "queue_timeout_ms") {
      read_integer(node, k, kQueueTimeoutMs, l.queue_timeout_ms);
    } else if (k.key == "clients") {
      if (const auto* clients = section_table(node, "[limits.clients]")) read_clients(*clients, l.clients);
    } else if (k.key == "client_timeout_ms") {
      read_integer(node, k, kClientTimeoutMs, l.client_timeout_ms);
    } else {
      unknown_key(node, k, kLimitsKeys);
    }
  }
}

void Loader::read_clients(const toml::table& t, std::map<std::string, ClientOverride>& clients) {
  for (auto&& [key, node] : t) {
    std::string name(key.str());
    if (name.empty()) {
      error(node, "a client name in [limits.clients] must not be empty");
      continue;
    }
    std::string section = "[limits.clients." + toml_key(name) + "]";
    const toml::table* client = section_table(node, section);
    if (client == nullptr) continue;
    read_client(*client, section, clients[name]);
  }
}

void Loader::read_client(const toml::table& t, const std::string& section, ClientOverride& o) {
  for (auto&& [key, node] : t) {
    KeyRef k{key.str(), section};
    uint32_t v = 0;
    if (k.key == "max_concurrency") {
      if (read_integer(node, k, kMaxConcurrency, v)) {
        o.max_concurrency = v;
        max_concurrency_.push_back({section, &node, v});
      }
    } else if (k.key == "weight") {
      if (read_integer(node, k, kWeight, v)) o.weight = v;
    } else if (k.key == "max_queue") {
      if (read_integer(node, k, kMaxQueue, v)) o.max_queue = v;
    } else if (k.key == "queue_timeout_ms") {
      if (read_integer(node, k, kQueueTimeoutMs, v)) o.queue_timeout_ms = v;
    } else if (node.is_table()) {
      // [limits.clients.10.0.0.5] is four nested tables, not one address.
      error(node, "unknown key " + quoted(k.key) + " in " + section +
                      "; a client name with dots must be quoted, as in [limits.clients.\"10.0.0.5\"]");
    } else {
      unknown_key(node, k, kClientOverrideKeys);
    }
  }
}

void Loader::read_admission(const toml::table& t, AdmissionSettings& a) {
  for (auto&& [key, node] : t) {
    KeyRef k{key.str(), "[admission]"};
    if (k.key == "mode") {
      read_enum(node, k, kAdmissionModes, a.mode);
    } else if (k.key == "min_limit") {
      min_limit_.note(node, read_integer(node, k, kMinLimit, a.min_limit));
    } else if (k.key == "max_limit") {
      max_limit_.note(node, read_integer(node, k, kMaxLimit, a.max_limit));
    } else if (k.key == "initial_limit") {
      initial_limit_.note(node, read_integer(node, k, kInitialLimit, a.initial_limit));
    } else if (k.key == "codel_target_ms") {
      read_integer(node, k, kCodelTargetMs, a.codel_target_ms);
    } else if (k.key == "codel_interval_ms") {
      read_integer(node, k, kCodelIntervalMs, a.codel_interval_ms);
    } else if (k.key == "shed_wait_ms") {
      read_integer(node, k, kShedWaitMs, a.shed_wait_ms);
    } else if (k.key == "latency_tolerance") {
      read_number(node, k, kLatencyTolerance, a.latency_tolerance);
    } else {
      unknown_key(node, k, kAdmissionKeys);
    }
  }
}

// Reports low_value > high_value at whichever of the two was written; when
// both were, at `low` if blame_low, else at `high`. A rejected value takes
// part in no check, and a default is never blamed.
void Loader::require_order(KeyRef low, uint32_t low_value, const ValueSource& low_source, KeyRef high,
                           uint32_t high_value, const ValueSource& high_source, bool blame_low,
                           std::string_view why) {
  if (low_source.rejected || high_source.rejected || low_value <= high_value) return;
  bool at_low = low_source.node != nullptr && (blame_low || high_source.node == nullptr);
  const ValueSource& blamed = at_low ? low_source : high_source;
  if (blamed.node == nullptr) return;  // both defaults: they are consistent
  const ValueSource& other = at_low ? high_source : low_source;
  std::string message = describe(at_low ? low : high) + " is " + std::to_string(at_low ? low_value : high_value) +
                        (at_low ? ", above " : ", below ") + std::string(at_low ? high.key : low.key) + " " +
                        std::to_string(at_low ? high_value : low_value) +
                        (other.node == nullptr ? " (the default)" : "") + ": " + std::string(why);
  error(*blamed.node, std::move(message));
}

void Loader::check_admission(const Config& config, const std::map<std::string, DatabaseDraft>& drafts) {
  const AdmissionSettings& a = config.admission;
  // max_limit 0 means "each database's pool_size": nothing to compare with here.
  // min_limit and initial_limit only steer the adaptive controller; a static
  // limit is max_limit itself, whatever they say. ("off" keeps the checks: it
  // is the default, and the values must hold once adaptive is switched on.)
  const bool controller_bounds = a.mode != AdmissionMode::Static;
  if (max_limit_.node != nullptr && a.max_limit != 0) {
    if (controller_bounds)
      require_order(kMinLimitKey, a.min_limit, min_limit_, kMaxLimitKey, a.max_limit, max_limit_, true,
                    "the concurrency limit stays within min_limit..max_limit");
    // With min_limit above max_limit no initial_limit would do; one complaint is enough.
    if (controller_bounds && (min_limit_.rejected || a.min_limit <= a.max_limit)) {
      constexpr std::string_view kWhy = "the concurrency limit starts at initial_limit, within min_limit..max_limit";
      require_order(kMinLimitKey, a.min_limit, min_limit_, kInitialLimitKey, a.initial_limit, initial_limit_,
                    false, kWhy);
      require_order(kInitialLimitKey, a.initial_limit, initial_limit_, kMaxLimitKey, a.max_limit, max_limit_,
                    true, kWhy);
    }
    for (const ConcurrencyValue& c : max_concurrency_) {
      if (c.value <= a.max_limit) continue;
      error(*c.node, describe({"max_concurrency", c.section}) + " is " + std::to_string(c.value) +
                         ", above max_limit " + std::to_string(a.max_limit) +
                         " in [admission]: one client cannot run more transactions than all clients together");
    }
  }

  // Only limits that were written: the default min_limit is simply capped at
  // a smaller pool_size.
  for (const auto& [name, d] : drafts) {
    if (d.pool_size_rejected) continue;
    uint32_t pool_size = d.settings.pool_size;
    for (const auto& [source, value, key] :
         {std::tuple{&max_limit_, a.max_limit, kMaxLimitKey}, std::tuple{&min_limit_, a.min_limit, kMinLimitKey}}) {
      if (source->node == nullptr || value <= pool_size || (!controller_bounds && source == &min_limit_)) continue;
      error(*source->node, describe(key) + " is " + std::to_string(value) + ", above pool_size " +
                               std::to_string(pool_size) + " of [databases." + toml_key(name) +
                               "]: pgsluice cannot run more transactions than it has server connections");
    }
  }
}

}  // namespace pgs::config::detail
