#include "server/inspect.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <charconv>
#include <cstring>

#include <boost/json.hpp>

#include "control/wire.h"
#include "dns/master_file.h"
#include "dns/name.h"
#include "dns/text.h"
#include "health/state_machine.h"
#include "query/processor.h"

namespace pharos::server {

namespace json = boost::json;

namespace {

using policy::Selection;
using policy::Standing;

const char* standing_name(Standing s) {
  switch (s) {
    case Standing::Healthy:
      return "healthy";
    case Standing::Unhealthy:
      return "unhealthy";
    case Standing::Drained:
      return "drained";
  }
  return "unknown";
}

const char* outcome_name(Selection::Outcome o) {
  switch (o) {
    case Selection::Outcome::Answer:
      return "answer";
    case Selection::Outcome::NoData:
      return "nodata";
    case Selection::Outcome::ServFail:
      return "servfail";
  }
  return "unknown";
}

// An address ("203.0.113.7", "2001:db8::1") into `addr` (16 bytes); false if it is not one.
bool parse_address(const std::string& text, bool& v6, uint8_t* addr) {
  std::memset(addr, 0, 16);
  if (inet_pton(AF_INET, text.c_str(), addr) == 1) {
    v6 = false;
    return true;
  }
  if (inet_pton(AF_INET6, text.c_str(), addr) == 1) {
    v6 = true;
    return true;
  }
  return false;
}

// The query as a client would send it: RD clear, EDNS (payload 1232), and the Client Subnet
// option when `subnet` is given. Parsed by the same code as every query.
Result<std::vector<uint8_t>> make_query(const control::ExplainQuery& q, uint16_t type) {
  std::string name = q.name;
  if (name.back() != '.') name += '.';
  std::vector<uint8_t> wire;
  if (!dns::name_from_text(name, wire)) return Error{"invalid name " + dns::quote(q.name)};
  std::vector<uint8_t> p{0x50, 0x48, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1};
  p.insert(p.end(), wire.begin(), wire.end());
  p.insert(p.end(), {static_cast<uint8_t>(type >> 8), static_cast<uint8_t>(type), 0, 1});
  std::vector<uint8_t> ecs;
  if (!q.subnet.empty()) {
    const size_t slash = q.subnet.find('/');
    if (slash == std::string::npos) {
      return Error{"invalid subnet " + dns::quote(q.subnet) + " (expected ADDRESS/LENGTH, e.g. 203.0.113.0/24)"};
    }
    bool v6 = false;
    uint8_t addr[16];
    unsigned bits = 0;
    const std::string len = q.subnet.substr(slash + 1);
    auto [end, ec] = std::from_chars(len.data(), len.data() + len.size(), bits);
    if (!parse_address(q.subnet.substr(0, slash), v6, addr) || ec != std::errc() || end != len.data() + len.size() ||
        len.empty() || bits > (v6 ? 128u : 32u)) {
      return Error{"invalid subnet " + dns::quote(q.subnet) + " (expected ADDRESS/LENGTH, e.g. 203.0.113.0/24)"};
    }
    const size_t bytes = (bits + 7) / 8;
    if (bits % 8) addr[bytes - 1] &= static_cast<uint8_t>(0xFF << (8 - bits % 8));  // RFC 7871: no bits past the prefix
    ecs = {0, 8, 0, static_cast<uint8_t>(4 + bytes), 0, static_cast<uint8_t>(v6 ? 2 : 1), static_cast<uint8_t>(bits), 0};
    ecs.insert(ecs.end(), addr, addr + bytes);
  }
  p.insert(p.end(), {0, 0, 41, 0x04, 0xD0, 0, 0, 0, 0, 0, static_cast<uint8_t>(ecs.size())});
  p.insert(p.end(), ecs.begin(), ecs.end());
  return p;
}

// The config of a compiled record, when the running config still has it.
const config::PolicyRecord* config_of(const ExplainContext& c, const policy::Record& r) {
  if (!c.records) return nullptr;
  for (const auto& cr : *c.records) {
    if (cr.id == r.id) return &cr;
  }
  return nullptr;
}

class Explainer {
 public:
  Explainer(const ExplainContext& c, const query::Snapshot& s) : c_(c), s_(s), set_(*s.policies) {}

  json::object record(const policy::Record& r, const Selection& sel) const {
    const config::PolicyRecord* cr = config_of(c_, r);
    json::object o;
    o["record"] = r.id;
    o["name"] = r.name.empty() ? json::value(nullptr) : json::value(json::string(r.name));
    o["type"] = dns::type_to_text(r.type);
    o["policy"] = control::policy_name(r.policy);
    o["ttl"] = sel.ttl;
    o["outcome"] = outcome_name(sel.outcome);
    o["fail_open"] = sel.open;
    o["fallback"] = sel.fallback;
    o["ecs_scope"] = sel.scope;
    o["random"] = r.policy == config::Policy::Weighted || r.policy == config::Policy::Multivalue;
    if (r.policy == config::Policy::Cidr) {
      json::value group = nullptr;
      if (sel.group != policy::kNone) group = group_json(cr, sel.group);
      o["group"] = std::move(group);
    }
    json::array members;
    if (r.policy == config::Policy::Cidr) {
      for (uint32_t g = 0; g < r.group_count; ++g) {
        const policy::Group& grp = set_.group(r.group_first + g);
        const config::CidrGroup* cg = cr && g < cr->groups.size() ? &cr->groups[g] : nullptr;
        for (uint32_t i = 0; i < grp.count; ++i) {
          const config::PolicyMember* cm = cg && i < cg->members.size() ? &cg->members[i] : nullptr;
          json::object m = member(r, grp.first + i, cm, sel);
          m["group"] = group_json(cr, g);
          members.push_back(std::move(m));
        }
      }
    } else {
      for (uint32_t i = 0; i < r.members; ++i) {
        const config::PolicyMember* cm = cr && i < cr->members.size() ? &cr->members[i] : nullptr;
        members.push_back(member(r, r.first + i, cm, sel));
      }
    }
    o["members"] = std::move(members);
    json::array chosen;
    for (unsigned i = 0; i < sel.count; ++i) {
      if (sel.members[i] == policy::kNone) {
        chosen.push_back(json::object{{"fallback", true}});
        continue;
      }
      const health::MemberKey& key = set_.member_keys()[set_.member(sel.members[i]).id];
      chosen.push_back(json::object{{"record", key.record}, {"value", key.value}});
    }
    o["chosen"] = std::move(chosen);
    return o;
  }

 private:
  json::value group_json(const config::PolicyRecord* cr, uint32_t g) const {
    if (!cr || g >= cr->groups.size()) return json::value(g);
    if (cr->groups[g].is_default) return json::string("default");
    std::string text;
    for (const auto& p : cr->groups[g].prefixes) text += (text.empty() ? "" : ",") + p.text;
    return json::string(text);
  }

  const health::CheckStatus* check(const std::string& name) const {
    for (const auto& c : c_.status.checks) {
      if (c.name == name) return &c;
    }
    return nullptr;
  }

  json::object member(const policy::Record& r, uint32_t index, const config::PolicyMember* cm,
                      const Selection& sel) const {
    const policy::Member& m = set_.member(index);
    const health::MemberKey& key = set_.member_keys()[m.id];
    json::object o;
    if (m.nested != policy::kNone) {
      o["record"] = key.value;
    } else {
      o["value"] = key.value;
    }
    const Standing standing = s_.standings ? s_.standings->member(m.id) : Standing::Healthy;
    o["standing"] = standing_name(standing);
    std::string why;
    const health::Override ov = s_.health ? s_.health->member(m.id) : health::Override::None;
    json::value override_entry = nullptr;
    for (const auto& e : c_.status.overrides) {
      if (!e.on_check && e.member == key) {
        override_entry = json::object{{"id", e.id}, {"action", control::override_action_name(e.action)},
                                      {"reason", e.reason}, {"until", e.until ? control::time_json(*e.until) : nullptr}};
      }
    }
    o["override"] = std::move(override_entry);
    if (ov != health::Override::None) why = std::string("member override ") + control::override_action_name(ov);
    if (m.check != policy::kNone) {
      const std::string name = cm ? cm->check : "";
      const health::Health h = s_.health ? s_.health->check(m.check) : health::Health::Unknown;
      json::object c;
      c["name"] = name.empty() ? json::value(nullptr) : json::value(json::string(name));
      c["state"] = health::health_name(h);
      if (const health::CheckStatus* st = name.empty() ? nullptr : check(name)) {
        c["last_result"] = st->last_reason;
        c["last_probe"] = control::time_json(st->last_probe);
        c["since"] = control::time_json(st->since);
        json::value cov = nullptr;
        for (const auto& e : c_.status.overrides) {
          if (e.on_check && e.check == name) cov = json::object{{"id", e.id}, {"action", control::override_action_name(e.action)}};
        }
        c["override"] = std::move(cov);
      }
      if (why.empty()) {
        why = "check " + (name.empty() ? std::string("?") : name) + " " + health::health_name(h);
        if (const health::CheckStatus* st = name.empty() ? nullptr : check(name); st && !st->last_reason.empty()) {
          why += " (" + st->last_reason + ")";
        }
      }
      o["check"] = std::move(c);
    } else {
      o["check"] = nullptr;
      if (why.empty()) why = m.nested != policy::kNone ? "nested record: healthy if any of its members is" : "no check";
    }
    o["why"] = why;
    if (r.policy == config::Policy::Weighted) o["weight"] = m.weight;
    if (r.policy == config::Policy::Failover) o["tier"] = m.tier;
    bool chosen = false;
    for (unsigned i = 0; i < sel.count; ++i) chosen = chosen || sel.members[i] == index;
    o["chosen"] = chosen;
    return o;
  }

  const ExplainContext& c_;
  const query::Snapshot& s_;
  const policy::PolicySet& set_;
};

}  // namespace

json::value zones_json(const std::vector<ZoneInfo>& zones) {
  json::array out;
  for (const ZoneInfo& z : zones) {
    json::object o;
    o["origin"] = z.origin;
    o["serial"] = z.served ? json::value(z.serial) : json::value(nullptr);
    o["records"] = z.served ? json::value(z.records) : json::value(nullptr);
    o["loaded_at"] = z.served ? control::time_json(z.loaded_at) : json::value(nullptr);
    o["file"] = z.file;
    o["served"] = z.served;
    o["failed"] = z.failed;
    out.push_back(std::move(o));
  }
  return out;
}

void mark_answering(json::value& records, const query::Snapshot& snapshot) {
  if (!records.is_array() || !snapshot.policies || !snapshot.standings) return;
  const policy::PolicySet& set = *snapshot.policies;
  const policy::Standings& st = *snapshot.standings;
  std::vector<bool> answering;
  // Marks the members of one pool's list; false when it is empty (all down) and the record's
  // all-down rule does not answer from its members.
  auto mark = [&](const policy::Record& r, auto list_of) {
    const policy::Standings::List* l = &list_of(false);
    const bool down = l->count == 0 && r.policy != config::Policy::Simple;
    if (down && r.all_down == config::AllDown::FailOpen) l = &list_of(true);
    if (down && r.all_down != config::AllDown::FailOpen) return down;
    for (uint32_t i = 0; i < l->count; ++i) {
      const uint32_t item = st.items()[l->first + i];
      if (item < answering.size()) answering[item] = true;
    }
    return down;
  };
  for (json::value& rv : records.as_array()) {
    if (!rv.is_object()) continue;
    json::object& ro = rv.as_object();
    const policy::Record* r = nullptr;
    for (const auto& candidate : set.records()) {
      if (ro.contains("id") && ro.at("id").is_string() && ro.at("id").as_string() == candidate.id) r = &candidate;
    }
    if (!r || !ro.contains("members") || !ro.at("members").is_array()) continue;
    answering.assign(set.member_keys().size(), false);
    bool all_down = false;
    uint32_t base = r->first;
    if (r->policy == config::Policy::Cidr) {
      base = r->group_count ? set.group(r->group_first).first : 0;
      all_down = r->group_count != 0;
      for (uint32_t g = 0; g < r->group_count; ++g) {
        all_down = mark(*r, [&](bool open) -> const policy::Standings::List& {
                     return st.group_list(r->group_first + g, open);
                   }) && all_down;
      }
    } else {
      all_down = mark(*r, [&](bool open) -> const policy::Standings::List& { return st.record_list(r->index, open); });
    }
    ro["all_down"] = all_down;
    json::array& members = ro.at("members").as_array();
    for (size_t k = 0; k < members.size(); ++k) {
      if (!members[k].is_object()) continue;
      const size_t index = base + k;
      members[k].as_object()["answering"] = index < answering.size() && answering[index];
    }
  }
}

Result<json::value> explain(const ExplainContext& context, const control::ExplainQuery& q) {
  if (!context.snapshot || !context.snapshot->zones) return Error{"nothing is served yet"};
  const query::Snapshot& snapshot = *context.snapshot;
  const std::string type_text = q.type.empty() ? "A" : q.type;
  const uint16_t type = dns::type_from_text(type_text);
  if (type == 0) return Error{"unknown type " + dns::quote(type_text) + " (e.g. A, AAAA, CNAME, TYPE65)"};
  if (q.name.empty()) return Error{"name is empty"};
  auto packet = make_query(q, type);
  if (!packet) return packet.error();

  sockaddr_storage peer{};
  const sockaddr* peer_ptr = nullptr;
  if (!q.client.empty()) {
    bool v6 = false;
    uint8_t addr[16];
    if (!parse_address(q.client, v6, addr)) {
      return Error{"invalid client address " + dns::quote(q.client) + " (e.g. 203.0.113.7 or 2001:db8::1)"};
    }
    if (v6) {
      auto* a = reinterpret_cast<sockaddr_in6*>(&peer);
      a->sin6_family = AF_INET6;
      std::memcpy(&a->sin6_addr, addr, 16);
    } else {
      auto* a = reinterpret_cast<sockaddr_in*>(&peer);
      a->sin_family = AF_INET;
      std::memcpy(&a->sin_addr, addr, 4);
    }
    peer_ptr = reinterpret_cast<const sockaddr*>(&peer);
  }

  // A fresh random source, and no worker's answer counters: a block has one writer, and an
  // explained query is not a client's answer.
  auto processor = std::make_unique<query::QueryProcessor>(query::QueryProcessor::kUncounted);
  std::vector<uint8_t> reply(65535);
  const size_t n = processor->process(snapshot, packet->data(), packet->size(), reply.data(), reply.size(),
                                      query::Transport::Udp, peer_ptr);
  if (n == 0) return Error{"the query got no reply"};
  auto text = dns::message_to_text(reply.data(), n);
  if (!text) return Error{"the reply could not be read: " + text.error().message};
  const query::AnswerPlan& plan = processor->plan();

  json::object o;
  o["name"] = q.name;
  o["type"] = dns::type_to_text(type);
  o["client"] = q.client.empty() ? json::value(nullptr) : json::value(json::string(q.client));
  o["subnet"] = q.subnet.empty() ? json::value(nullptr) : json::value(json::string(q.subnet));
  o["rcode"] = text->rcode;
  o["aa"] = text->aa;
  o["truncated"] = text->tc;
  json::value zone = nullptr;
  for (size_t i = 0; i < plan.size; ++i) {
    if (plan.entries[i].zone) {
      zone = json::string(dns::name_to_text(plan.entries[i].zone->origin()));
      break;
    }
  }
  o["zone"] = std::move(zone);
  auto lines = [](const std::vector<std::string>& v) {
    json::array a;
    for (const auto& l : v) a.push_back(json::string(l));
    return a;
  };
  o["answer"] = lines(text->answer);
  o["authority"] = lines(text->authority);
  o["additional"] = lines(text->additional);
  json::array records;
  bool random = false;
  if (snapshot.policies) {
    const Explainer explainer(context, snapshot);
    for (size_t i = 0; i < plan.selections; ++i) {
      records.push_back(explainer.record(*plan.selected[i], plan.selection[i]));
      random = random || records.back().as_object().at("random").as_bool();
    }
  }
  o["policy_records"] = std::move(records);
  o["health_view"] = snapshot.health ? json::value(snapshot.health->version) : json::value(nullptr);
  o["note"] = random ? json::value("weighted and multivalue records choose at random: this is one draw, "
                                   "another query may get other members")
                     : json::value(nullptr);
  return json::value(std::move(o));
}

}  // namespace pharos::server
