// /api/admin/*: user, role and audit administration. One table below declares, for every route,
// the permission it needs; the wrapper checks it (AdminFlow::authorize) before the handler runs,
// so no admin route can be added without one. Recent-authentication and last-admin rules live
// in AdminFlow.
#include "api/api.hpp"
#include "api/responses.hpp"
#include "common/ids.hpp"
#include "flows/admin/import_records.hpp"
#include "http/json_body.hpp"
#include "http/query.hpp"

namespace latchkey::api {
namespace {

using flows::Actor;
using flows::AdminFlow;
using http::Auth;
using http::Context;
using http::HttpStatus;
using http::JsonBody;
using http::Response;
using http::Verb;
using http::Work;
using identity::Permission;

using AdminHandler = Response (*)(const Context&, AdminFlow&, const Actor&);

constexpr std::size_t kMaxImportRecords = 1000;

nlohmann::json permission_names(const std::vector<Permission>& ps) {
  nlohmann::json out = nlohmann::json::array();
  for (auto p : ps) out.push_back(identity::to_string(p));
  return out;
}

nlohmann::json role_json(const identity::Role& r) {
  return {
      {"name", r.name}, {"permissions", permission_names(r.permissions)}, {"builtin", r.builtin}};
}

Error bad_param(const std::string& name, std::string message) {
  return Error::on_field(ErrorCode::kInvalidField, name, std::move(message));
}

// Query parameters: only `allowed` ones, each at most `max` characters.
Result<std::map<std::string, std::string>> query_params(
    const Context& ctx, std::initializer_list<const char*> allowed) {
  auto params = http::parse_query(ctx.query);
  if (!params) return params.error();
  for (const auto& [k, v] : *params) {
    const std::string& name = k;  // clang 14 cannot capture a structured binding
    if (std::find_if(allowed.begin(), allowed.end(), [&](const char* a) { return name == a; }) ==
        allowed.end()) {
      return bad_param(k, "unknown query parameter: " + k);
    }
    if (v.size() > 1024) return bad_param(k, k + " is too long");
  }
  return params;
}

Result<int> limit_param(const std::map<std::string, std::string>& p, int def, int max) {
  auto it = p.find("limit");
  if (it == p.end()) return def;
  const auto& v = it->second;
  if (v.empty() || v.size() > 4 ||
      !std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return bad_param("limit", "limit must be a number from 1 to " + std::to_string(max));
  }
  const int n = std::stoi(v);
  if (n < 1 || n > max) {
    return bad_param("limit", "limit must be a number from 1 to " + std::to_string(max));
  }
  return n;
}

Result<std::vector<Permission>> parse_permissions(const std::vector<std::string>& names) {
  std::vector<Permission> out;
  for (const auto& n : names) {
    auto p = identity::parse_permission(n);
    if (!p) return bad_param("permissions", "unknown permission '" + n + "'");
    out.push_back(*p);
  }
  return out;
}

Response list_users(const Context& ctx, AdminFlow& admin, const Actor&) {
  auto p = query_params(ctx, {"q", "status", "role", "verified", "sort", "limit", "cursor"});
  if (!p) return problem(ctx, p.error());
  flows::UserListQuery q;
  auto get = [&](const char* k) {
    auto it = p->find(k);
    return it == p->end() ? std::string() : it->second;
  };
  q.search.prefix = get("q");
  if (q.search.prefix.size() > 254) return problem(ctx, bad_param("q", "q is too long"));
  if (auto s = get("status"); !s.empty()) {
    auto state = identity::parse_account_state(s);
    if (!state)
      return problem(ctx, bad_param("status", "status must be pending, active or disabled"));
    q.search.state = state;
  }
  q.search.role = get("role");
  if (q.search.role.size() > 64) return problem(ctx, bad_param("role", "role is too long"));
  if (auto v = get("verified"); !v.empty()) {
    if (v != "true" && v != "false")
      return problem(ctx, bad_param("verified", "verified must be true or false"));
    q.search.email_verified = v == "true";
  }
  if (auto s = get("sort"); !s.empty()) {
    const bool desc = s.front() == '-';
    const std::string key = desc ? s.substr(1) : s;
    if (key == "created_at") {
      q.search.sort = identity::UserSort::kCreatedAt;
    } else if (key == "email") {
      q.search.sort = identity::UserSort::kEmail;
    } else if (key == "name") {
      q.search.sort = identity::UserSort::kName;
    } else {
      return problem(
          ctx, bad_param("sort", "sort must be created_at, email or name (- for descending)"));
    }
    q.search.descending = desc;
  }
  auto limit = limit_param(*p, 50, 100);
  if (!limit) return problem(ctx, limit.error());
  q.search.limit = *limit;
  q.cursor = get("cursor");
  auto page = admin.list_users(q);
  if (!page) return problem(ctx, page.error());
  nlohmann::json users = nlohmann::json::array();
  for (const auto& u : page->users) users.push_back(admin_user_json(u));
  return json(ctx, HttpStatus::ok,
              {{"users", users},
               {"next_cursor", page->next_cursor ? nlohmann::json(*page->next_cursor) : nullptr}});
}

Response create_user(const Context& ctx, AdminFlow& admin, const Actor& actor) {
  auto body = JsonBody::parse(ctx.request);
  if (!body) return problem(ctx, body.error());
  flows::NewUser in;
  in.email = body->string("email", {.max = 320});
  in.name = body->optional_string("name", {.required = false, .max = 100}).value_or("");
  in.password =
      body->optional_string("password", {.required = false, .max = 4096, .allow_control = true})
          .value_or("");
  in.roles = body->optional_strings("roles", {.max = 64}, 32);
  in.email_verified = body->optional_bool("email_verified").value_or(false);
  in.send_invite = body->optional_bool("send_invite").value_or(false);
  if (auto st = body->finish(); !st) return problem(ctx, st.error());
  auto user = admin.create_user(actor, in);
  if (!user) return problem(ctx, user.error());
  return json(ctx, HttpStatus::created, admin_user_json(*user));
}

Response get_user(const Context& ctx, AdminFlow& admin, const Actor&) {
  auto d = admin.get_user(ctx.params.at("id"));
  if (!d) return problem(ctx, d.error());
  auto body = admin_user_json(d->user);
  body["factors"] = {
      {"totp", d->totp}, {"sms", d->sms}, {"recovery_codes_left", d->recovery_codes_left}};
  body["sessions_count"] = d->sessions_count;
  body["identities"] = nlohmann::json::array();
  for (const auto& i : d->identities) {
    body["identities"].push_back({{"id", i.id},
                                  {"provider", i.provider},
                                  {"email", i.email},
                                  {"created_at", iso8601(i.created_at)}});
  }
  return json(ctx, HttpStatus::ok, body);
}

Response patch_user(const Context& ctx, AdminFlow& admin, const Actor& actor) {
  auto body = JsonBody::parse(ctx.request);
  if (!body) return problem(ctx, body.error());
  flows::UserPatch patch;
  patch.name = body->optional_string("name", {.required = false, .max = 100});
  patch.email = body->optional_string("email", {.required = false, .max = 320});
  patch.phone = body->optional_string("phone", {.required = false, .max = 64});
  auto status = body->optional_string("status", {.required = false, .max = 16});
  patch.email_verified = body->optional_bool("email_verified");
  patch.roles = body->optional_strings("roles", {.max = 64}, 32);
  if (auto st = body->finish(); !st) return problem(ctx, st.error());
  if (status) {
    auto state = identity::parse_account_state(*status);
    if (!state || *state == identity::AccountState::kPending) {
      return problem(ctx, bad_param("status", "status must be \"active\" or \"disabled\""));
    }
    patch.state = state;
  }
  auto user = admin.update_user(actor, ctx.params.at("id"), patch);
  if (!user) return problem(ctx, user.error());
  return json(ctx, HttpStatus::ok, admin_user_json(*user));
}

Response delete_user(const Context& ctx, AdminFlow& admin, const Actor& actor) {
  if (auto st = admin.delete_user(actor, ctx.params.at("id")); !st) return problem(ctx, st.error());
  return no_content(ctx);
}

Response revoke_sessions(const Context& ctx, AdminFlow& admin, const Actor& actor) {
  auto n = admin.revoke_sessions(actor, ctx.params.at("id"));
  if (!n) return problem(ctx, n.error());
  return json(ctx, HttpStatus::ok, {{"revoked", *n}});
}

Response list_sessions(const Context& ctx, AdminFlow& admin, const Actor&) {
  auto list = admin.list_sessions(ctx.params.at("id"));
  if (!list) return problem(ctx, list.error());
  nlohmann::json items = nlohmann::json::array();
  for (const auto& s : *list) items.push_back(session_json(s, false));
  return json(ctx, HttpStatus::ok, {{"sessions", items}});
}

Response revoke_session(const Context& ctx, AdminFlow& admin, const Actor& actor) {
  const auto& sid = ctx.params.at("sid");
  if (!is_uuid(sid)) return problem(ctx, Error::make(ErrorCode::kNotFound, "no such session"));
  if (auto st = admin.revoke_session(actor, ctx.params.at("id"), sid); !st) {
    return problem(ctx, st.error());
  }
  return no_content(ctx);
}

Response reset_mfa(const Context& ctx, AdminFlow& admin, const Actor& actor) {
  if (auto st = admin.reset_mfa(actor, ctx.params.at("id")); !st) return problem(ctx, st.error());
  return no_content(ctx);
}

Response password_reset(const Context& ctx, AdminFlow& admin, const Actor& actor) {
  if (auto st = admin.send_password_reset(actor, ctx.params.at("id")); !st) {
    return problem(ctx, st.error());
  }
  return json(ctx, HttpStatus::accepted, {{"status", "reset_sent"}});
}

Response import_users(const Context& ctx, AdminFlow& admin, const Actor& actor) {
  auto body = JsonBody::parse(ctx.request);
  if (!body) return problem(ctx, body.error());
  const nlohmann::json* records = body->raw("records");
  const bool dry_run = body->optional_bool("dry_run").value_or(false);
  if (auto st = body->finish(); !st) return problem(ctx, st.error());
  if (records == nullptr || !records->is_array() || records->size() > kMaxImportRecords) {
    return problem(ctx, bad_param("records", "records must be an array of at most " +
                                                 std::to_string(kMaxImportRecords) + " objects"));
  }
  std::vector<flows::ImportRecord> parsed;
  int line = 0;
  for (const auto& r : *records) parsed.push_back(flows::import_record_from_json(r, ++line));
  auto report = admin.import_users(actor, parsed, dry_run);
  nlohmann::json errors = nlohmann::json::array();
  for (const auto& e : report.errors) {
    nlohmann::json item = {{"line", e.line},
                           {"email", e.email},
                           {"code", code_id(e.error.code)},
                           {"message", e.error.message}};
    if (!e.error.field.empty()) item["field"] = e.error.field;
    errors.push_back(item);
  }
  return json(ctx, HttpStatus::ok,
              {{"created", report.created},
               {"skipped", report.skipped},
               {"errors", errors},
               {"dry_run", report.dry_run}});
}

Response list_roles(const Context& ctx, AdminFlow& admin, const Actor&) {
  auto roles = admin.list_roles();
  if (!roles) return problem(ctx, roles.error());
  nlohmann::json items = nlohmann::json::array();
  for (const auto& r : *roles) {
    auto j = role_json(r.role);
    j["users"] = r.users;
    items.push_back(j);
  }
  return json(ctx, HttpStatus::ok,
              {{"roles", items}, {"permissions", permission_names(identity::all_permissions())}});
}

Response create_role(const Context& ctx, AdminFlow& admin, const Actor& actor) {
  auto body = JsonBody::parse(ctx.request);
  if (!body) return problem(ctx, body.error());
  auto name = body->string("name", {.max = 64});
  auto names = body->optional_strings("permissions", {.max = 64}, 64);
  if (auto st = body->finish(); !st) return problem(ctx, st.error());
  if (!names) return problem(ctx, bad_param("permissions", "permissions is required"));
  auto perms = parse_permissions(*names);
  if (!perms) return problem(ctx, perms.error());
  auto role = admin.create_role(actor, name, *perms);
  if (!role) return problem(ctx, role.error());
  return json(ctx, HttpStatus::created, role_json(*role));
}

Response update_role(const Context& ctx, AdminFlow& admin, const Actor& actor) {
  auto body = JsonBody::parse(ctx.request);
  if (!body) return problem(ctx, body.error());
  auto names = body->optional_strings("permissions", {.max = 64}, 64);
  if (auto st = body->finish(); !st) return problem(ctx, st.error());
  if (!names) return problem(ctx, bad_param("permissions", "permissions is required"));
  auto perms = parse_permissions(*names);
  if (!perms) return problem(ctx, perms.error());
  auto role = admin.update_role(actor, ctx.params.at("name"), *perms);
  if (!role) return problem(ctx, role.error());
  return json(ctx, HttpStatus::ok, role_json(*role));
}

Response delete_role(const Context& ctx, AdminFlow& admin, const Actor& actor) {
  if (auto st = admin.delete_role(actor, ctx.params.at("name")); !st) {
    return problem(ctx, st.error());
  }
  return no_content(ctx);
}

Response query_audit(const Context& ctx, AdminFlow& admin, const Actor&) {
  auto p = query_params(ctx, {"user", "actor", "type", "since", "until", "limit", "cursor"});
  if (!p) return problem(ctx, p.error());
  flows::AuditListQuery q;
  auto get = [&](const char* k) {
    auto it = p->find(k);
    return it == p->end() ? std::string() : it->second;
  };
  q.query.subject_id = get("user");
  q.query.actor_id = get("actor");
  q.query.type = get("type");
  for (const char* k : {"user", "actor"}) {
    if (get(k).size() > 36)
      return problem(ctx, bad_param(k, std::string(k) + " must be a user id"));
  }
  if (q.query.type.size() > 64) return problem(ctx, bad_param("type", "type is too long"));
  for (const char* k : {"since", "until"}) {
    if (auto v = get(k); !v.empty()) {
      auto t = flows::parse_rfc3339(v);
      if (!t) return problem(ctx, bad_param(k, std::string(k) + " must be an RFC 3339 time"));
      (std::string_view(k) == "since" ? q.query.since : q.query.until) = t;
    }
  }
  auto limit = limit_param(*p, 50, 200);
  if (!limit) return problem(ctx, limit.error());
  q.query.limit = *limit;
  q.cursor = get("cursor");
  auto page = admin.query_audit(q);
  if (!page) return problem(ctx, page.error());
  nlohmann::json events = nlohmann::json::array();
  for (const auto& e : page->events) {
    events.push_back({{"id", e.id},
                      {"time", iso8601(e.at)},
                      {"type", e.event.type},
                      {"outcome", e.event.outcome},
                      {"actor_id", e.event.actor_id},
                      {"subject_id", e.event.subject_id},
                      {"ip", e.event.ip},
                      {"user_agent", e.event.user_agent},
                      {"details", e.event.details}});
  }
  return json(ctx, HttpStatus::ok,
              {{"events", events},
               {"next_cursor", page->next_cursor ? nlohmann::json(*page->next_cursor) : nullptr}});
}

// Every admin route and the permission it needs. Keep docs/api.md ("Route → permission") in step.
struct AdminRoute {
  Verb method;
  const char* pattern;
  Permission permission;
  AdminHandler handler;
};

const AdminRoute kAdminRoutes[] = {
    {Verb::get, "/api/admin/users", Permission::kUsersRead, list_users},
    {Verb::post, "/api/admin/users", Permission::kUsersWrite, create_user},
    {Verb::post, "/api/admin/users/import", Permission::kUsersWrite, import_users},
    {Verb::get, "/api/admin/users/{id}", Permission::kUsersRead, get_user},
    {Verb::patch, "/api/admin/users/{id}", Permission::kUsersWrite, patch_user},
    {Verb::delete_, "/api/admin/users/{id}", Permission::kUsersDelete, delete_user},
    {Verb::post, "/api/admin/users/{id}/sessions/revoke", Permission::kSessionsRevoke,
     revoke_sessions},
    {Verb::get, "/api/admin/users/{id}/sessions", Permission::kUsersRead, list_sessions},
    {Verb::delete_, "/api/admin/users/{id}/sessions/{sid}", Permission::kSessionsRevoke,
     revoke_session},
    {Verb::post, "/api/admin/users/{id}/mfa/reset", Permission::kUsersWrite, reset_mfa},
    {Verb::post, "/api/admin/users/{id}/password-reset", Permission::kUsersWrite, password_reset},
    {Verb::get, "/api/admin/roles", Permission::kUsersRead, list_roles},
    {Verb::post, "/api/admin/roles", Permission::kRolesWrite, create_role},
    {Verb::patch, "/api/admin/roles/{name}", Permission::kRolesWrite, update_role},
    {Verb::delete_, "/api/admin/roles/{name}", Permission::kRolesWrite, delete_role},
    {Verb::get, "/api/admin/audit", Permission::kAuditRead, query_audit},
};

}  // namespace

void add_admin_routes(http::Router& router, AdminApiDeps deps) {
  for (const auto& r : kAdminRoutes) {
    router.add({r.method, r.pattern, Work::kBlocking, Auth::kBearer,
                [&admin = deps.admin, r](Context& ctx) -> Response {
                  // The one permission check of the admin API: fails closed.
                  auto actor = admin.authorize(ctx.principal->user_id, r.permission,
                                               from_unix(ctx.principal->auth_time), client_of(ctx));
                  if (!actor) return problem(ctx, actor.error());
                  return r.handler(ctx, admin, *actor);
                }});
  }
}

}  // namespace latchkey::api
