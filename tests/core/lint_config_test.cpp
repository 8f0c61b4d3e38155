#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "core/lint/config.hpp"

using namespace evt::lint;
namespace fs = std::filesystem;

namespace {
struct TempDir {
    fs::path path;
    TempDir() {
        path = fs::temp_directory_path() / ("evt-lint-config-" + std::to_string(::getpid()) + "-" + std::to_string(rand()));
        fs::create_directories(path);
    }
    ~TempDir() { fs::remove_all(path); }
    void write(const std::string& rel, const std::string& text) const {
        fs::create_directories((path / rel).parent_path());
        std::ofstream(path / rel) << text;
    }
};
}  // namespace

TEST_CASE("lint: globs: * stays in a segment, ** crosses them") {
    CHECK(glob_match("*.yaml", "a.yaml"));
    CHECK_FALSE(glob_match("*.yaml", "dir/a.yaml"));
    CHECK(glob_match("legacy/**", "legacy/x/y.yaml"));
    CHECK(glob_match("**/*.yaml", "a.yaml"));
    CHECK(glob_match("**/*.yaml", "x/y/a.yaml"));
    CHECK(glob_match("a?.yml", "ab.yml"));
    CHECK_FALSE(glob_match("legacy/*.yaml", "other/a.yaml"));
}

TEST_CASE("lint: config merging: extends a file, then rules, ignore and vocabulary on top") {
    TempDir t;
    t.write("base.yaml", "rules:\n  doc/missing-version: off\n  naming/casing: error\nignore: [\"gen/**\"]\n"
                         "vocabulary: {imperative: [escalate]}\n");
    t.write(".evtlint.yaml", "extends: [strict, base.yaml]\nrules:\n  naming/casing: [info, {style: kebab-case}]\n"
                             "  bogus/rule: warn\nvocabulary: {attributes: [mood]}\nnaming: {style: PascalCase, namespace: com.acme}\n");
    auto cfg = load_config((t.path / ".evtlint.yaml").string());
    REQUIRE(cfg.ok());
    std::string file = (t.path / "a.yaml").string();
    CHECK(cfg->preset == "strict");
    CHECK(cfg->resolve("doc/missing-version", Severity::warn, file, "/events/0").severity == Severity::off);
    auto casing = cfg->resolve("naming/casing", Severity::warn, file, "");
    CHECK(casing.severity == Severity::info);  // the file's own setting wins over its base
    CHECK(casing.options->get("style") == "kebab-case");
    // strict raises the defaults of rules nobody configured
    CHECK(cfg->resolve("naming/no-vague-verb", Severity::warn, file, "").severity == Severity::error);
    CHECK(cfg->resolve("ownership/no-consumer", Severity::info, file, "").severity == Severity::warn);
    CHECK(cfg->vocab.starts_command("escalate"));
    CHECK(cfg->vocab.attributes.count("mood") == 1);
    CHECK(cfg->style == Style::pascal);
    CHECK(cfg->ns == "com.acme");
    CHECK(cfg->ignored((t.path / "gen/x/y.yaml").string()));
    CHECK_FALSE(cfg->ignored(file));
    REQUIRE(cfg->warnings.size() == 1);
    CHECK(cfg->warnings[0].find(":4:3: unknown rule 'bogus/rule'") != std::string::npos);
}

TEST_CASE("lint: overrides apply by file glob and by JSON pointer") {
    TempDir t;
    t.write("c.yaml", "overrides:\n  - files: [\"api.yaml#/components/messages/ChargeCard\"]\n    rules: {naming/no-imperative: off}\n"
                      "  - files: [\"legacy/*.yaml\"]\n    rules: {payload/missing: warn}\n");
    auto cfg = load_config((t.path / "c.yaml").string());
    REQUIRE(cfg.ok());
    std::string api = (t.path / "api.yaml").string();
    CHECK(cfg->resolve("naming/no-imperative", Severity::error, api, "/components/messages/ChargeCard").severity == Severity::off);
    CHECK(cfg->resolve("naming/no-imperative", Severity::error, api, "/components/messages/ChargeCardX").severity == Severity::error);
    CHECK(cfg->resolve("naming/no-imperative", Severity::error, api, "/components/messages/SendMail").severity == Severity::error);
    CHECK(cfg->resolve("payload/missing", Severity::error, (t.path / "legacy/old.yaml").string(), "").severity == Severity::warn);
    CHECK(cfg->resolve("payload/missing", Severity::error, api, "").severity == Severity::error);
}

TEST_CASE("lint: config errors are located; a missing config is not_found") {
    TempDir t;
    t.write("bad.yaml", "rules:\n  naming/casing: loud\n");
    auto r = load_config((t.path / "bad.yaml").string());
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == evt::ErrorKind::invalid);
    CHECK(r.error().message.find("bad.yaml:2:18: unknown severity 'loud'") != std::string::npos);
    auto missing = load_config((t.path / "none.yaml").string());
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().kind == evt::ErrorKind::not_found);
}

TEST_CASE("lint: find_config walks up from a directory") {
    TempDir t;
    t.write("proj/.evtlint.yaml", "rules: {}\n");
    fs::create_directories(t.path / "proj/a/b/c");
    CHECK(find_config((t.path / "proj/a/b/c").string()) == (t.path / "proj/.evtlint.yaml").string());
    CHECK(find_config(t.path.string()).find(t.path.string()) == std::string::npos);
}
