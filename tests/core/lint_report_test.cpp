#include <catch2/catch.hpp>

#include <sstream>

#include <nlohmann/json.hpp>

#include "core/lint/report.hpp"

using namespace evt::lint;

namespace {
Report sample() {
    Report r;
    r.files = {"cat.yaml"};
    r.version = "0.1.0";
    r.findings.push_back({"cat.yaml", {9, 11, 9, 21}, Severity::error, "naming/no-imperative",
                          "'ChargeCard' starts with the command verb 'Charge'; did you mean 'CardCharged'?", "/events/1"});
    r.findings.push_back({"cat.yaml", {15, 11, 15, 23}, Severity::warn, "naming/no-vague-verb", "'OrderUpdated' is vague",
                          "/events/2"});
    r.findings.push_back({"cat.yaml", {20, 3, 20, 4}, Severity::info, "ownership/no-consumer", "a, b: 100%\nnext", "/events/3"});
    return r;
}
std::string render(OutputFormat f, const Report& r) {
    std::ostringstream out;
    write_report(out, f, r);
    return out.str();
}
}  // namespace

TEST_CASE("lint: text: one finding per line and a summary") {
    std::string out = render(OutputFormat::text, sample());
    CHECK(out.rfind("cat.yaml:9:11: error: 'ChargeCard' starts with the command verb 'Charge'; did you mean 'CardCharged'? "
                    "[naming/no-imperative]\n", 0) == 0);
    CHECK(out.find("cat.yaml:15:11: warning: 'OrderUpdated' is vague [naming/no-vague-verb]\n") != std::string::npos);
    CHECK(out.find("3 problems (1 error, 1 warning, 1 info) in 1 file\n") != std::string::npos);
    Report quiet = sample();
    quiet.quiet = true;
    CHECK(render(OutputFormat::text, quiet).find("warning") == std::string::npos);
}

TEST_CASE("lint: json: Spectral's shape, zero-based ranges, numeric severities") {
    auto j = nlohmann::json::parse(render(OutputFormat::json, sample()));
    REQUIRE(j.is_array());
    REQUIRE(j.size() == 3);
    CHECK(j[0]["code"] == "naming/no-imperative");
    CHECK(j[0]["severity"] == 0);
    CHECK(j[1]["severity"] == 1);
    CHECK(j[2]["severity"] == 2);
    CHECK(j[0]["path"] == nlohmann::json::array({"events", "1"}));
    CHECK(j[0]["range"]["start"]["line"] == 8);
    CHECK(j[0]["range"]["start"]["character"] == 10);
    CHECK(j[0]["range"]["end"]["character"] == 20);
    CHECK(j[0]["source"].get<std::string>().size() > std::string("cat.yaml").size());
}

TEST_CASE("lint: sarif: 2.1.0 with the rule table and 1-based regions") {
    auto j = nlohmann::json::parse(render(OutputFormat::sarif, sample()));
    CHECK(j["version"] == "2.1.0");
    auto& run = j["runs"][0];
    CHECK(run["tool"]["driver"]["name"] == "evt-lint");
    CHECK(run["tool"]["driver"]["rules"].size() == 22);
    auto& res = run["results"][0];
    CHECK(res["ruleId"] == "naming/no-imperative");
    CHECK(run["tool"]["driver"]["rules"][res["ruleIndex"].get<int>()]["id"] == "naming/no-imperative");
    CHECK(res["level"] == "error");
    CHECK(run["results"][2]["level"] == "note");
    CHECK(res["locations"][0]["physicalLocation"]["region"]["startLine"] == 9);
    CHECK(res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "cat.yaml");
}

TEST_CASE("lint: github: workflow commands with escaped data and properties") {
    std::string out = render(OutputFormat::github, sample());
    CHECK(out.rfind("::error file=cat.yaml,line=9,endLine=9,col=11,endColumn=21,title=naming/no-imperative::'ChargeCard'", 0) == 0);
    CHECK(out.find("::warning file=cat.yaml,line=15,") != std::string::npos);
    CHECK(out.find("::notice file=cat.yaml,line=20,endLine=20,col=3,endColumn=4,title=ownership/no-consumer::a, b: 100%25%0Anext\n") !=
          std::string::npos);
    CHECK(github_escape_property("a:b,c") == "a%3Ab%2Cc");
}

TEST_CASE("lint: junit: failing findings only, XML escaped") {
    std::string out = render(OutputFormat::junit, sample());
    CHECK(out.find("<testsuite package=\"org.evt.lint\" time=\"0\" tests=\"1\" errors=\"0\" failures=\"1\" name=\"cat.yaml\">") !=
          std::string::npos);
    CHECK(out.find("name=\"org.evt.lint.naming/no-imperative(#/events/1)\"") != std::string::npos);
    CHECK(out.find("no-vague-verb") == std::string::npos);
    CHECK(out.find("&apos;ChargeCard&apos;") != std::string::npos);
    CHECK(xml_escape("<a & \"b\">") == "&lt;a &amp; &quot;b&quot;&gt;");
}
