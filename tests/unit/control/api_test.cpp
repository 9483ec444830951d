// Api::handle without sockets: the status's zones and queries, /v1/explain's parameters, and the
// status page's files, with fake hooks (what they compute is tested where it is made).
#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include "control/api.h"

using namespace pharos;
using namespace pharos::control;
namespace json = boost::json;

namespace {

Request get(const std::string& target, const std::string& authorization = "") {
  return Request{"GET", target, authorization, ""};
}

}  // namespace

TEST_CASE("control api: status carries the zones and the queries answered from the hooks", "[control]") {
  Hooks hooks;
  hooks.version = "1.2.3";
  uint64_t queries = 41;
  hooks.queries = [&queries] { return ++queries; };
  hooks.zones = [] {
    return json::value(json::array{json::object{{"origin", "example.com."}, {"serial", 7}}});
  };
  Api api(std::move(hooks), "");
  Reply r = api.handle(get("/v1/status"));
  REQUIRE(r.status == 200);
  CHECK(r.content_type.empty());
  json::value v = json::parse(r.body);
  CHECK(v.at("queries") == 42);
  CHECK(v.at("zones").at(0).at("origin") == "example.com.");
  CHECK(v.at("zones").at(0).at("serial") == 7);
  CHECK(v.at("now").is_string());
  CHECK(json::parse(api.handle(get("/v1/status")).body).at("queries") == 43);
}

TEST_CASE("control api: without zone and query hooks the status has [] and null", "[control]") {
  Api api(Hooks{}, "");
  json::value v = json::parse(api.handle(get("/v1/status")).body);
  CHECK(v.at("zones").as_array().empty());
  CHECK(v.at("queries").is_null());
}

TEST_CASE("control api: explain passes the decoded parameters and returns the hook's report", "[control]") {
  Hooks hooks;
  ExplainQuery seen;
  hooks.explain = [&seen](const ExplainQuery& q) -> Result<json::value> {
    seen = q;
    if (q.type == "BOGUS") return Error{"unknown type \"BOGUS\""};
    return json::value(json::object{{"rcode", "NOERROR"}});
  };
  Api api(std::move(hooks), "");
  Reply r = api.handle(get("/v1/explain?name=www.example.com&type=AAAA&client=2001%3Adb8%3A%3A1&subnet=10.1.0.0%2F16"));
  REQUIRE(r.status == 200);
  CHECK(json::parse(r.body).at("rcode") == "NOERROR");
  CHECK(seen.name == "www.example.com");
  CHECK(seen.type == "AAAA");
  CHECK(seen.client == "2001:db8::1");
  CHECK(seen.subnet == "10.1.0.0/16");

  r = api.handle(get("/v1/explain?name=a.example&type=BOGUS"));
  CHECK(r.status == 400);
  CHECK(r.error == "unknown type \"BOGUS\"");
}

TEST_CASE("control api: explain refuses a missing name, unknown parameters and bad escapes", "[control]") {
  Hooks hooks;
  int calls = 0;
  hooks.explain = [&calls](const ExplainQuery&) -> Result<json::value> {
    ++calls;
    return json::value(nullptr);
  };
  Api api(std::move(hooks), "");
  CHECK(api.handle(get("/v1/explain")).status == 400);
  CHECK(api.handle(get("/v1/explain?type=A")).status == 400);
  Reply r = api.handle(get("/v1/explain?name=a.example&color=red"));
  CHECK(r.status == 400);
  CHECK(r.error.find("unknown parameter \"color\"") != std::string::npos);
  CHECK(api.handle(get("/v1/explain?name=a%2")).status == 400);
  CHECK(api.handle(get("/v1/explain?name=a%zz")).status == 400);
  CHECK(api.handle(Request{"POST", "/v1/explain?name=a.example", "", ""}).status == 405);
  CHECK(calls == 0);
  CHECK(Api(Hooks{}, "").handle(get("/v1/explain?name=a.example")).status == 503);
}

TEST_CASE("control api: the query string is split and decoded", "[control]") {
  auto q = parse_query_string("a=1&b=x%2Fy+z&&c&d=");
  REQUIRE(q);
  REQUIRE(q->size() == 4);
  CHECK((*q)[0] == std::pair<std::string, std::string>{"a", "1"});
  CHECK((*q)[1] == std::pair<std::string, std::string>{"b", "x/y z"});
  CHECK((*q)[2] == std::pair<std::string, std::string>{"c", ""});
  CHECK((*q)[3] == std::pair<std::string, std::string>{"d", ""});
  CHECK_FALSE(parse_query_string("a=%4"));
  CHECK_FALSE(parse_query_string("a=%g0"));
}

TEST_CASE("control api: the status page is served without a token, the data only with one", "[control]") {
  Api api(Hooks{}, "secret-token-0123456789");
  for (const char* path : {"/", "/status", "/index.html"}) {
    Reply page = api.handle(get(path));
    INFO(path);
    CHECK(page.status == 200);
    CHECK(page.content_type == "text/html; charset=utf-8");
    CHECK(page.body.find("<script src=\"status.js\"") != std::string::npos);
  }
  Reply js = api.handle(get("/status.js"));
  CHECK(js.status == 200);
  CHECK(js.content_type == "text/javascript; charset=utf-8");
  CHECK(js.body.find("/v1/status") != std::string::npos);
  CHECK(api.handle(get("/status.css")).content_type == "text/css; charset=utf-8");
  // No inline script: the page's policy allows only its own files.
  const std::string html = api.handle(get("/")).body;
  CHECK(html.find("<script>") == std::string::npos);
  CHECK(html.find("onload=") == std::string::npos);
  CHECK(std::string(kStatusPagePolicy).find("script-src 'self'") != std::string::npos);
  CHECK(std::string(kStatusPagePolicy).find("unsafe-inline") == std::string::npos);

  CHECK(api.handle(get("/v1/status")).status == 401);
  CHECK(api.handle(get("/v1/status", "Bearer secret-token-0123456789")).status == 200);
  CHECK(api.handle(get("/nope.js")).status == 401);  // anything else still needs the token
  CHECK(api.handle(Request{"POST", "/", "", ""}).status == 401);
}
