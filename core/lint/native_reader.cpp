// The native catalog format (schemas/catalog.schema.json) and the payload
// reading shared with the AsyncAPI reader.
#include <algorithm>

#include "core/lint/readers.hpp"

namespace evt::lint {

void read_payload(Node payload, const std::string& pointer, RefResolver& refs, Catalog& out, Message& m) {
    if (!payload || payload.kind() == NodeKind::null) return;
    m.has_payload = true;
    m.payload_pos = position_of(payload);
    m.payload_pointer = pointer;
    auto r = refs.resolve(payload, pointer);
    if (!r.ok()) {
        Node at = payload["$ref"] ? payload["$ref"] : payload;
        out.problems.push_back(invalid_document(out.file, at.line(), at.column(), r.error().message, pointer));
        return;
    }
    Node schema = r->node;
    // AsyncAPI 3.0 multi-format schema: {schemaFormat, schema}.
    if (schema["schemaFormat"] && schema["schema"]) {
        auto inner = refs.resolve(schema["schema"], pointer + "/schema");
        if (!inner.ok()) return;
        schema = inner->node;
    }
    if (!schema.is_map()) return;
    Node props = schema["properties"];
    std::string type(schema["type"].str());
    m.payload_object = type == "object" || props.is_map();
    m.payload_has_properties = props.is_map() && props.size() > 0;
    // allOf/oneOf/anyOf/$ref compositions: properties we cannot see are not "empty".
    if (schema["allOf"] || schema["oneOf"] || schema["anyOf"] || schema["additionalProperties"].is_map() ||
        schema["patternProperties"])
        m.payload_has_properties = true;
    std::vector<std::string> required = string_list(schema["required"]);
    std::string base = r->external ? pointer : r->pointer;
    for (std::size_t i = 0; i < props.size(); ++i) {
        Field f;
        f.name = std::string(props.key(i).str());
        f.pos = position_of(props.key(i));
        f.pointer = base + "/properties/" + pointer_escape(f.name);
        auto fr = refs.resolve(props.value(i), f.pointer);
        if (fr.ok()) f.type = std::string(fr->node["type"].str());
        f.required = std::find(required.begin(), required.end(), f.name) != required.end();
        if (r->external) f.pos = m.payload_pos;
        m.fields.push_back(std::move(f));
    }
}

namespace {

void read_event(Node ev, std::size_t index, RefResolver& refs, Catalog& out) {
    std::string pointer = "/events/" + std::to_string(index);
    if (!ev.is_map()) {
        out.problems.push_back(invalid_document(out.file, ev.line(), ev.column(), "an event must be a mapping", pointer));
        return;
    }
    Message m;
    m.pointer = pointer;
    Node name = ev["name"];
    if (!name.is_scalar() || name.str().empty()) {
        out.problems.push_back(invalid_document(out.file, ev.line(), ev.column(), "event has no 'name'", pointer));
        return;
    }
    m.name = std::string(name.str());
    m.pos = position_of(name);
    m.producers = string_list(ev["producer"]);
    for (auto& p : string_list(ev["producers"])) m.producers.push_back(std::move(p));
    m.consumers = string_list(ev["consumers"]);
    m.version = std::string(ev["version"].str());
    m.version_declared = !m.version.empty();
    m.documented = !ev["summary"].str().empty() || !ev["description"].str().empty();
    m.ignore = string_list(ev["x-evtlint-ignore"]);
    read_payload(ev["payload"], pointer + "/payload", refs, out, m);
    out.messages.push_back(std::move(m));
}

}  // namespace

void read_native(const Document& doc, RefResolver& refs, Catalog& out) {
    Node root = doc.root();
    Node version = root["catalog"];
    if (version && version.str() != "1")
        out.problems.push_back(invalid_document(out.file, version.line(), version.column(),
                                                fmt::format("unsupported catalog version '{}' (expected 1)", version.str()),
                                                "/catalog"));
    out.ns = std::string(root["namespace"].str());
    if (Node style = root["naming"]["style"]; style.is_scalar()) out.style = parse_style(style.str());
    out.ignore = string_list(root["x-evtlint-ignore"]);
    Node events = root["events"];
    if (!events.is_seq()) {
        Node at = events ? events : root;
        out.problems.push_back(invalid_document(out.file, at.line(), at.column(), "'events' must be a list", "/events"));
        out.unreadable = !events.valid() ? false : true;
        return;
    }
    for (std::size_t i = 0; i < events.size(); ++i) read_event(events.item(i), i, refs, out);
}

}  // namespace evt::lint
