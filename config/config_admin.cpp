// [admin] (who may use the admin console, HTTP basic auth) and [alerts]
// (when a traffic pattern counts as skewed).
#include "config/config.h"
#include "config/loader.h"

#include <algorithm>
#include <string>

namespace pgs::config::detail {
namespace {

constexpr std::string_view kAdminKeys[] = {"users", "stats_users", "http_user", "http_password"};
constexpr std::string_view kAlertKeys[] = {"skew_factor", "skew_for_ms", "skew_min_rate"};

constexpr FloatRange kSkewFactor{1.1, 100.0};
constexpr Range kSkewForMs{1000, 3600000};
constexpr Range kSkewMinRate{0, 1000000};

}  // namespace

bool Loader::read_string_array(const toml::node& node, KeyRef k, std::vector<std::string>& out) {
  note_place(k, node);
  const toml::array* a = node.as_array();
  if (a == nullptr) {
    error(node, describe(k) + " must be an array of user names, such as [\"admin\"], not " + type_name(node));
    return false;
  }
  bool ok = true;
  const std::string array_key = "admin." + std::string(k.key);
  for (size_t i = 0; i < a->size(); ++i) {
    const toml::node& item = *a->get(i);
    note_place(array_key + "[" + std::to_string(i) + "]", item);
    const auto* s = item.as_string();
    if (s == nullptr || s->get().empty()) {
      error(item, describe(k) + " must hold non-empty strings, not " +
                      (s == nullptr ? std::string(type_name(item)) : std::string("an empty string")));
      ok = false;
      continue;
    }
    out.push_back(s->get());
    admin_names_.emplace_back(s->get(), &item);
  }
  return ok;
}

void Loader::read_admin(const toml::table& t, AdminSettings& a) {
  for (auto&& [key, node] : t) {
    KeyRef k{key.str(), "[admin]"};
    if (k.key == "users") {
      read_string_array(node, k, a.users);
    } else if (k.key == "stats_users") {
      read_string_array(node, k, a.stats_users);
    } else if (k.key == "http_user") {
      if (read_string(node, k, a.http_user, true)) http_user_node_ = &node;
    } else if (k.key == "http_password") {
      if (read_string(node, k, a.http_password, true)) http_password_node_ = &node;
    } else {
      unknown_key(node, k, kAdminKeys);
    }
  }
}

void Loader::read_alerts(const toml::table& t, AlertSettings& a) {
  for (auto&& [key, node] : t) {
    KeyRef k{key.str(), "[alerts]"};
    if (k.key == "skew_factor") {
      read_number(node, k, kSkewFactor, a.skew_factor);
    } else if (k.key == "skew_for_ms") {
      read_integer(node, k, kSkewForMs, a.skew_for_ms);
    } else if (k.key == "skew_min_rate") {
      read_integer(node, k, kSkewMinRate, a.skew_min_rate);
    } else {
      unknown_key(node, k, kAlertKeys);
    }
  }
}

void Loader::check_admin(const Config& config) {
  // With trust, anyone may log in as anyone; otherwise a console user needs
  // a password, and passwords live in [users].
  if (config.auth_method != AuthMethod::Trust) {
    for (const auto& [name, node] : admin_names_) {
      if (config.users.count(name) != 0) continue;
      error(*node, "admin console user " + quoted(name) +
                       " is not in [users]; console users log in with their [users] password");
    }
  }
  const AdminSettings& a = config.admin;
  if (a.http_user.empty() != a.http_password.empty()) {
    const toml::node* at = a.http_user.empty() ? http_password_node_ : http_user_node_;
    std::string message = "[admin] http_user and http_password go together: set both for HTTP basic auth, "
                          "or neither for none";
    if (at != nullptr) {
      error(*at, std::move(message));
    } else {
      errors_.push_back({file_, 0, 0, std::move(message)});
    }
  }
}

}  // namespace pgs::config::detail
