#include "core/lint/words.hpp"

#include <cctype>
#include <sstream>

namespace evt::lint {

namespace {

// The word lists, as whitespace-separated text so that they read like data.

// Verbs that, first in a name, make it a command whatever follows.
constexpr const char* kImperative = R"(
accept activate add adjust allocate apply approve archive assign authenticate authorize
calculate cancel     close collect compute configure confirm connect create
deactivate decline decrement delete deliver deny deploy destroy disable disconnect   do
edit enable enqueue enroll ensure evaluate execute expire fetch find finalize finalise fulfil
fulfill generate get give grant handle increment initiate insert install invalidate invoke join
kick launch     make mark migrate modify move notify open pause perform persist place
prepare provision publish put   rebuild receive recalculate redeem   register reject
reload remove rename renew reopen replace reserve resolve restart restore resume retrieve revoke
save select send set settle ship submit subscribe suspend synchronize take terminate toggle
track     unblock unlink unlock unsubscribe update   upsert validate
verify void withdraw write turn dim switch cleanup compensate reconcile rollback allocate enqueue assign
)";

// Words that are nouns as often as verbs: a command only when no participle
// follows ("ChargeCard" is a command, "ChargeRefunded" a fact).
constexpr const char* kNounVerbs = R"(
access alert answer backup bid bill block book build call change charge checkout claim comment
commit deposit discount dispute download email estimate export fork hold import invite invoice
issue label list lock log login logout match merge message note offer order plan post price
process pull purchase push quote rate record refund release reply report request reset retry
return review reward run schedule search signup start star stock store sync test text ticket
transfer upload vote watch link load query transition trigger upgrade dispatch capture
refresh check
)";

// Further base-form verbs (for the past-tense check and its fix).
constexpr const char* kVerbs = R"(
abandon abort accrue acknowledge allow approve arrive assess attach attempt audit award begin
bounce break bring buy cache calculate catch choose clear clone complete contain continue convert
copy correct debit decide default delay deprecate detach detect draft drop earn embed emit end
enter escalate exceed expose extend fail fill finish flag forget freeze fund hide hit hire
ignore import index invite keep kill land leave lose mature mention merge mint notice nudge
onboard overdraw overwrite pay pick pin play prepay print promote provide qualify raise reach
read rebalance recall recover redirect refer reinstate reload remind render repay replay reroute
resend respond restock reverse rewrite rotate route sell scan schedule seed sell share shut sign
skip sleep snooze split stage stall steal stop succeed supersede swap tag tear throw time
transfer unarchive unassign undo unfreeze unlabel unpin unpublish unstar unwatch use view
wait warn win withhold transmit dequeue
)";

// Irregular base -> participle pairs.
constexpr const char* kIrregular = R"(
be:been become:become begin:begun bid:bid bind:bound break:broken bring:brought
broadcast:broadcast build:built buy:bought cast:cast catch:caught choose:chosen come:come
cost:cost cut:cut deal:dealt do:done draw:drawn drive:driven eat:eaten fall:fallen feed:fed
feel:felt fight:fought find:found fly:flown forbid:forbidden forecast:forecast forget:forgotten
forgive:forgiven freeze:frozen get:got give:given go:gone grow:grown hang:hung have:had
hear:heard hide:hidden hit:hit hold:held hurt:hurt keep:kept know:known lay:laid lead:led
leave:left lend:lent let:let lose:lost make:made mean:meant meet:met mistake:mistaken
outbid:outbid overpay:overpaid override:overridden overwrite:overwritten pay:paid prepay:prepaid
put:put quit:quit read:read rebuild:rebuilt redo:redone repay:repaid reset:reset resend:resent
rerun:rerun resell:resold retake:retaken rewrite:rewritten ride:ridden ring:rung rise:risen
run:run say:said see:seen seek:sought sell:sold send:sent set:set shake:shaken shed:shed
shoot:shot show:shown shut:shut sink:sunk sit:sat sleep:slept slide:slid speak:spoken
spend:spent spin:spun split:split spread:spread stand:stood steal:stolen stick:stuck
strike:struck swear:sworn swing:swung take:taken teach:taught tear:torn tell:told think:thought
throw:thrown undergo:undergone underpay:underpaid undo:undone unfreeze:unfrozen upset:upset
wake:woken wear:worn win:won wind:wound withdraw:withdrawn withhold:withheld write:written
dig:dug oversee:overseen uphold:upheld unbind:unbound
)";

// Simple past forms that are not also participles, used in real event names.
constexpr const char* kPastForms = R"(
began ran went came took gave wrote broke froze chose drove ate fell flew forgot knew rose saw
spoke stole swore threw woke wore withdrew drew hid shook rode rang sang sank did
)";

constexpr const char* kNotParticiples = R"(
bed red seed feed need speed embed shed hundred breed deed weed sled sacred naked wicked
kindred shred steed greed creed reed tweed bred fled sped led wed
)";

// Short verbs whose final consonant doubles before -ed.
constexpr const char* kDoubling = R"(
ship stop plan drop submit commit refer transfer admit omit permit emit tag log flag pin ban
star scan chat grab swap wrap zip trim snap map rob rub skip step tap top trap ship nag
plug unplug unpin untag blog dip hug jog mop nab rig sip slam slip spot stab strip tip tug
unzip veto dim occur prefer compel control patrol rebut regret upskill chip clip cap shop
)";

constexpr const char* kVague = R"(
updated changed modified edited saved written upserted altered amended patched touched
persisted stored synced synchronized
)";

constexpr const char* kGeneric = R"(
data entity record item object thing info information resource element model stuff
)";

constexpr const char* kAttributes = R"(
password email address name price phone quantity role plan limit title description avatar
username nickname settings preferences language locale timezone currency amount balance owner
assignee visibility permission permissions billing shipping credit quota tier level score
rating priority deadline date expiry expiration location position photo picture image logo
color colour discount tax rate terms slug sku weight size dimensions capacity ownership
assignment pin mfa schedule label labels tags tag topic cover category nickname birthday
id history purpose metadata count domain
)";

void fill(std::unordered_set<std::string>& set, const char* text) {
    std::istringstream in(text);
    std::string w;
    while (in >> w) set.insert(w);
}

Vocabulary make_builtin() {
    Vocabulary v;
    fill(v.imperative, kImperative);
    fill(v.noun_verbs, kNounVerbs);
    fill(v.verbs, kVerbs);
    fill(v.not_participles, kNotParticiples);
    fill(v.doubling, kDoubling);
    fill(v.vague, kVague);
    fill(v.generic, kGeneric);
    fill(v.attributes, kAttributes);
    fill(v.participles, kPastForms);
    std::istringstream in(kIrregular);
    std::string pair;
    while (in >> pair) {
        auto colon = pair.find(':');
        std::string base = pair.substr(0, colon), part = pair.substr(colon + 1);
        v.irregular[base] = part;
        v.participles.insert(part);
        v.verbs.insert(base);
    }
    return v;
}

bool is_vowel(char c) { return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u'; }

}  // namespace

const Vocabulary& Vocabulary::builtin() {
    static const Vocabulary v = make_builtin();
    return v;
}

bool Vocabulary::is_participle(std::string_view w) const {
    std::string word(w);
    if (participles.count(word)) return true;
    if (word.size() >= 4 && word.compare(word.size() - 2, 2, "ed") == 0) return !not_participles.count(word);
    return false;
}

bool Vocabulary::is_base_verb(std::string_view w) const {
    std::string word(w);
    return imperative.count(word) || noun_verbs.count(word) || verbs.count(word);
}

std::string Vocabulary::participle_of(std::string_view v) const {
    std::string verb(v);
    if (auto it = irregular.find(verb); it != irregular.end()) return it->second;
    if (verb.empty()) return verb;
    char last = verb.back();
    if (doubling.count(verb)) return verb + last + "ed";
    if (last == 'e') return verb + "d";
    if (last == 'y' && verb.size() > 1 && !is_vowel(verb[verb.size() - 2])) return verb.substr(0, verb.size() - 1) + "ied";
    if (verb == "sync") return "synced";
    return verb + "ed";
}

bool Vocabulary::extend(std::string_view list, const std::vector<std::string>& words) {
    std::unordered_set<std::string>* target = nullptr;
    if (list == "imperative") target = &imperative;
    else if (list == "noun-verbs") target = &noun_verbs;
    else if (list == "verbs") target = &verbs;
    else if (list == "participles") target = &participles;
    else if (list == "vague") target = &vague;
    else if (list == "generic") target = &generic;
    else if (list == "attributes") target = &attributes;
    else if (list == "allow") target = &allow;
    if (!target) return false;
    for (const auto& w : words) {
        std::string lower;
        for (char c : w) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        target->insert(list == "allow" ? w : lower);
    }
    return true;
}

}  // namespace evt::lint
