#include "health/state_machine.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

using namespace pharos::health;

namespace {

char code(Step s) {
  switch (s) {
    case Step::Unchanged:
      return 'U';
    case Step::Pending:
      return 'P';
    case Step::Changed:
      return 'C';
  }
  return '?';
}

char code(Health h) {
  switch (h) {
    case Health::Healthy:
      return 'H';
    case Health::Unhealthy:
      return 'X';
    case Health::Unknown:
      break;
  }
  return '?';
}

struct Row {
  const char* rule;
  unsigned rise;
  unsigned fall;
  const char* results;  // o: success, x: failure
  const char* steps;    // per result: U unchanged, P pending, C changed
  const char* states;   // per result, after it: H healthy, X unhealthy
};

}  // namespace

TEST_CASE("health: the state machine follows the rise/fall rules", "[health]") {
  const std::vector<Row> rows = {
      {"a first success decides at once", 2, 3, "o", "C", "H"},
      {"a first failure decides at once", 2, 3, "x", "C", "X"},
      {"agreeing results change nothing", 2, 3, "ooo", "CUU", "HHH"},
      {"fall failures flip a healthy check", 2, 3, "oxxx", "CPPC", "HHHX"},
      {"rise successes flip an unhealthy check", 2, 3, "xoo", "CPC", "XXH"},
      {"a success resets a run of failures (anti-flap)", 2, 3, "oxxoxx", "CPPUPP", "HHHHHH"},
      {"after a reset the full fall count is needed again", 2, 3, "oxxoxxx", "CPPUPPC", "HHHHHHX"},
      {"a failure resets a run of successes (anti-flap)", 2, 3, "xoxoo", "CPUPC", "XXXXH"},
      {"fall 1 flips on the first failure", 2, 1, "ox", "CC", "HX"},
      {"rise 1 and fall 1 follow every result", 1, 1, "oxox", "CCCC", "HXHX"},
      {"rise and fall 0 act as 1", 0, 0, "oxo", "CCC", "HXH"},
      {"after a transition the opposite threshold applies", 3, 2, "oxxooo", "CPCPPC", "HHXXXH"},
      {"results past the threshold change nothing", 2, 2, "oxxxx", "CPCUU", "HHXXX"},
  };
  for (const Row& row : rows) {
    SECTION(row.rule) {
      StateMachine m(row.rise, row.fall);
      CHECK(m.state() == Health::Unknown);
      std::string steps, states;
      for (const char* p = row.results; *p; ++p) {
        StepResult r = m.feed(*p == 'o', "probe");
        steps += code(r.step);
        states += code(r.state);
        CHECK(r.state == m.state());
      }
      CHECK(steps == row.steps);
      CHECK(states == row.states);
    }
  }
}

TEST_CASE("health: the first verdict carries the probe's reason", "[health]") {
  StateMachine m(2, 3);
  StepResult r = m.feed(true, "status 200");
  CHECK(r.step == Step::Changed);
  CHECK(r.from == Health::Unknown);
  CHECK(r.state == Health::Healthy);
  CHECK(r.reason == "status 200");
  CHECK(r.run == 1);
}

TEST_CASE("health: fall failures flip a healthy check with a counted reason", "[health]") {
  StateMachine m(2, 3);
  m.feed(true, "status 200");
  CHECK(m.feed(false, "connect timeout").step == Step::Pending);
  CHECK(m.pending());
  CHECK(m.feed(false, "connect timeout").step == Step::Pending);
  StepResult r = m.feed(false, "connect timeout");
  CHECK(r.step == Step::Changed);
  CHECK(r.from == Health::Healthy);
  CHECK(r.state == Health::Unhealthy);
  CHECK(r.run == 3);
  CHECK(r.reason == "after 3 failures: connect timeout");
  CHECK_FALSE(m.pending());
  CHECK(m.consecutive_fail() == 3);
  CHECK(m.consecutive_ok() == 0);
}

TEST_CASE("health: reasons count in the singular too", "[health]") {
  StateMachine m(1, 1);
  m.feed(true, "connected");
  CHECK(m.feed(false, "connect refused").reason == "after 1 failure: connect refused");
  CHECK(m.feed(true, "connected").reason == "after 1 success: connected");
}

TEST_CASE("health: pending is set only while a transition is under way", "[health]") {
  StateMachine m(2, 2);
  CHECK_FALSE(m.pending());
  m.feed(false, "x");  // first verdict: unhealthy, nothing pending
  CHECK_FALSE(m.pending());
  m.feed(true, "o");
  CHECK(m.pending());
  m.feed(false, "x");  // reset
  CHECK_FALSE(m.pending());
  m.feed(true, "o");
  m.feed(true, "o");  // healthy now
  CHECK(m.state() == Health::Healthy);
  CHECK_FALSE(m.pending());
  CHECK(m.consecutive_ok() == 2);
}

TEST_CASE("health: health names", "[health]") {
  CHECK(std::string(health_name(Health::Unknown)) == "unknown");
  CHECK(std::string(health_name(Health::Healthy)) == "healthy");
  CHECK(std::string(health_name(Health::Unhealthy)) == "unhealthy");
}
