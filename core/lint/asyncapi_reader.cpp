// AsyncAPI 2.0-2.6 and 3.0: messages from channels, operations and
// components, with $refs followed and message traits merged.
//
// Producer: a document describes one application (info.title, else id). In
// 2.x a `subscribe` operation lists messages the application produces and
// `publish` those it consumes (spec 2.6, Channel Item); `flip_direction`
// swaps them for documents written the other way round. In 3.0 `action: send`
// produces and `receive` consumes. `x-producer` on a message wins over both.
#include <algorithm>
#include <map>
#include <set>

#include "core/lint/readers.hpp"

namespace evt::lint {

namespace {

class AsyncApiReader {
public:
    AsyncApiReader(const Document& doc, RefResolver& refs, const ReadOptions& opts, Catalog& out)
        : doc_(doc), refs_(refs), opts_(opts), out_(out) {}

    void run() {
        Node root = doc_.root();
        std::string_view version = root["asyncapi"].str();
        v3_ = !version.empty() && version[0] == '3';
        out_.format = v3_ ? Format::asyncapi3 : Format::asyncapi2;
        if (version.empty() || (version[0] != '2' && version[0] != '3')) {
            Node at = root["asyncapi"];
            out_.problems.push_back(invalid_document(out_.file, at.line(), at.column(),
                                                     fmt::format("unsupported AsyncAPI version '{}' (2.x or 3.x)", version),
                                                     "/asyncapi"));
            out_.unreadable = true;
            return;
        }
        Node info = root["info"];
        app_ = std::string(info["title"].str());
        if (app_.empty()) app_ = std::string(root["id"].str());
        info_version_ = std::string(info["version"].str());
        out_.ignore = string_list(root["x-evtlint-ignore"]);
        if (Node ns = root["x-evtlint-namespace"]; ns.is_scalar()) out_.ns = std::string(ns.str());
        if (v3_) read_v3(root);
        else read_v2(root);
        Node comps = root["components"]["messages"];
        for (std::size_t i = 0; i < comps.size(); ++i) {
            std::string key(comps.key(i).str());
            visit(comps.value(i), comps.key(i), "/components/messages/" + pointer_escape(key), key);
        }
        for (auto& m : out_.messages) {
            if (m.version.empty()) m.version = info_version_;
        }
    }

private:
    // Read the message at `site` (a $ref or the object) once; returns its index.
    std::optional<std::size_t> visit(Node site, Node key, std::string pointer, const std::string& fallback_name) {
        auto r = refs_.resolve(site, pointer);
        if (!r.ok()) {
            Node at = site["$ref"] ? site["$ref"] : site;
            out_.problems.push_back(invalid_document(out_.file, at.line(), at.column(), r.error().message, pointer));
            return std::nullopt;
        }
        Node msg = r->node;
        auto id = std::make_pair(msg.document(), msg.id());
        if (auto it = seen_.find(id); it != seen_.end()) return it->second;
        if (!r->external) pointer = r->pointer;
        Message m;
        m.pointer = pointer;
        if (!msg.is_map()) {
            out_.problems.push_back(invalid_document(out_.file, site.line(), site.column(), "a message must be a mapping", pointer));
            return std::nullopt;
        }
        std::vector<Node> layers = trait_layers(msg, pointer);
        auto pick = [&](std::string_view field) -> Node {
            for (const Node& layer : layers)
                if (Node v = layer[field]; v) return v;
            return {};
        };
        Node id_node = v3_ ? Node() : pick("messageId");
        Node name_node = pick("name");
        Node located = r->external ? (key ? key : site) : Node();
        if (id_node.is_scalar() && !id_node.str().empty()) {
            m.message_id = std::string(id_node.str());
            m.id_pos = position_of(located ? located : id_node);
        }
        if (!m.message_id.empty()) {
            m.name = m.message_id;
            m.pos = m.id_pos;
        } else if (name_node.is_scalar() && !name_node.str().empty()) {
            m.name = std::string(name_node.str());
            m.pos = position_of(located ? located : name_node);
        } else {
            m.name = fallback_name;
            m.pos = position_of(key ? key : site);
        }
        m.documented = !pick("summary").str().empty() || !pick("description").str().empty();
        m.ignore = string_list(pick("x-evtlint-ignore"));
        if (Node p = pick("x-producer"); p) {
            m.producers = string_list(p);
            fixed_producer_.insert(out_.messages.size());
        }
        m.version = std::string(pick("x-version").str());
        m.version_declared = !m.version.empty();
        Node payload = pick("payload");
        if (!payload) payload = msg["payload"];
        read_payload(payload, pointer + "/payload", refs_, out_, m);
        if (r->external) {
            m.payload_pos = m.pos;
            for (auto& f : m.fields) f.pos = m.pos;
        }
        out_.messages.push_back(std::move(m));
        seen_[id] = out_.messages.size() - 1;
        return out_.messages.size() - 1;
    }

    // The message and its resolved traits, in the order their fields win:
    // 2.x merges traits as JSON Merge Patch (the last trait wins over the
    // message), 3.0 lets the message's own fields win over its traits.
    std::vector<Node> trait_layers(Node msg, const std::string& pointer) {
        std::vector<Node> traits;
        Node list = msg["traits"];
        for (std::size_t i = 0; i < list.size(); ++i) {
            std::string tp = pointer + "/traits/" + std::to_string(i);
            auto t = refs_.resolve(list.item(i), tp);
            if (!t.ok()) {
                Node at = list.item(i)["$ref"] ? list.item(i)["$ref"] : list.item(i);
                out_.problems.push_back(invalid_document(out_.file, at.line(), at.column(), t.error().message, tp));
                continue;
            }
            // 2.x allows [trait, {bindings}] pairs: take the first element.
            traits.push_back(t->node.is_seq() ? t->node.item(0) : t->node);
        }
        std::vector<Node> layers;
        if (v3_) {
            layers.push_back(msg);
            layers.insert(layers.end(), traits.begin(), traits.end());
        } else {
            layers.assign(traits.rbegin(), traits.rend());
            layers.push_back(msg);
        }
        return layers;
    }

    void add_role(std::size_t idx, bool produces) {
        if (app_.empty()) return;
        auto& m = out_.messages[idx];
        auto& list = produces ? m.producers : m.consumers;
        if (produces && fixed_producer_.count(idx)) return;
        if (std::find(list.begin(), list.end(), app_) == list.end()) list.push_back(app_);
    }

    void read_v2(Node root) {
        Node channels = root["channels"];
        for (std::size_t i = 0; i < channels.size(); ++i) {
            std::string address(channels.key(i).str());
            std::string cp = "/channels/" + pointer_escape(address);
            auto ch = refs_.resolve(channels.value(i), cp);
            if (!ch.ok()) continue;
            for (const char* op_name : {"publish", "subscribe"}) {
                auto op = refs_.resolve(ch->node[op_name], cp + "/" + op_name);
                if (!op.ok() || !op->node) continue;
                bool produces = (std::string_view(op_name) == "subscribe") != opts_.flip_direction;
                Node message = op->node["message"];
                std::string mp = cp + "/" + op_name + "/message";
                std::vector<std::pair<Node, std::string>> sites;
                if (Node one_of = message["oneOf"]; one_of.is_seq()) {
                    for (std::size_t k = 0; k < one_of.size(); ++k) sites.emplace_back(one_of.item(k), mp + "/oneOf/" + std::to_string(k));
                } else if (message) {
                    sites.emplace_back(message, mp);
                }
                for (auto& [site, sp] : sites)
                    if (auto idx = visit(site, Node(), sp, address)) add_role(*idx, produces);
            }
        }
    }

    void read_v3(Node root) {
        Node channels = root["channels"];
        std::map<std::pair<const Document*, std::uint32_t>, std::vector<std::size_t>> by_channel;
        for (std::size_t i = 0; i < channels.size(); ++i) {
            std::string cid(channels.key(i).str());
            std::string cp = "/channels/" + pointer_escape(cid);
            auto ch = refs_.resolve(channels.value(i), cp);
            if (!ch.ok()) {
                Node at = channels.value(i)["$ref"];
                out_.problems.push_back(invalid_document(out_.file, at.line(), at.column(), ch.error().message, cp));
                continue;
            }
            Node msgs = ch->node["messages"];
            auto& list = by_channel[{ch->node.document(), ch->node.id()}];
            for (std::size_t k = 0; k < msgs.size(); ++k) {
                std::string key(msgs.key(k).str());
                if (auto idx = visit(msgs.value(k), msgs.key(k), cp + "/messages/" + pointer_escape(key), key))
                    list.push_back(*idx);
            }
        }
        Node ops = root["operations"];
        for (std::size_t i = 0; i < ops.size(); ++i) {
            std::string op_pointer = "/operations/" + pointer_escape(ops.key(i).str());
            auto op = refs_.resolve(ops.value(i), op_pointer);
            if (!op.ok()) continue;
            std::string_view action = op->node["action"].str();
            bool produces = action == "send";
            if (!produces && action != "receive") continue;
            Node listed = op->node["messages"];
            if (listed.is_seq()) {
                for (std::size_t k = 0; k < listed.size(); ++k) {
                    std::string mp = op_pointer + "/messages/" + std::to_string(k);
                    if (auto idx = visit(listed.item(k), Node(), mp, std::string(ops.key(i).str()))) add_role(*idx, produces);
                }
                continue;
            }
            auto ch = refs_.resolve(op->node["channel"], op_pointer + "/channel");
            if (!ch.ok()) {
                Node at = op->node["channel"]["$ref"];
                out_.problems.push_back(invalid_document(out_.file, at.line(), at.column(), ch.error().message, op_pointer));
                continue;
            }
            auto it = by_channel.find({ch->node.document(), ch->node.id()});
            if (it == by_channel.end()) continue;
            for (std::size_t idx : it->second) add_role(idx, produces);
        }
    }

    const Document& doc_;
    RefResolver& refs_;
    const ReadOptions& opts_;
    Catalog& out_;
    bool v3_ = false;
    std::string app_, info_version_;
    std::map<std::pair<const Document*, std::uint32_t>, std::size_t> seen_;
    std::set<std::size_t> fixed_producer_;
};

}  // namespace

void read_asyncapi(const Document& doc, RefResolver& refs, const ReadOptions& opts, Catalog& out) {
    AsyncApiReader(doc, refs, opts, out).run();
}

}  // namespace evt::lint
