// The catalog readers behind read_catalog() (catalog.hpp), one per input
// format, and the helpers they share. Each fills a Catalog from a parsed
// Document (or, for NDJSON, from the text); problems inside the document are
// appended to Catalog::problems as located parse/invalid-document findings,
// never thrown or returned as errors.
#pragma once

#include <string>

#include "core/lint/catalog.hpp"
#include "core/lint/document.hpp"
#include "core/lint/refs.hpp"

namespace evt::lint {

// The native format: `catalog: 1` with `events: [...]`.
void read_native(const Document& doc, RefResolver& refs, Catalog& out);
// AsyncAPI 2.0-2.6 (`asyncapi: 2.x`) and 3.0 (`asyncapi: 3.x`).
void read_asyncapi(const Document& doc, RefResolver& refs, const ReadOptions& opts, Catalog& out);
// An NDJSON stream of CloudEvents: one message per distinct `type`, with counts.
void read_events(const std::string& text, Catalog& out);

// Shared: fill payload facts and fields of `m` from a schema node (following
// $refs); a broken $ref becomes a finding.
void read_payload(Node payload, const std::string& pointer, RefResolver& refs, Catalog& out, Message& m);
Position position_of(Node n);

}  // namespace evt::lint
