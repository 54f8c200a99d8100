// The mesh as the admin page draws it: every member with its state, and every active link,
// gathered by asking each live member for its own links ("ops.links", node role only).
#ifndef CLI_TOPOLOGY_H_
#define CLI_TOPOLOGY_H_

#include <chrono>

#include "mesh/node.h"

namespace cli {

// Answers "ops.links" on `node` with the ids of the members it has an active link to.
// Register before the node starts.
void RegisterLinksEvent(mesh::Node* node);

// {"nodes":[{"id":hex,"name","status","address"}], "links":[{"a":hex,"b":hex}],
//  "unanswered":[names]}: links are undirected, each listed once; members that did not
// answer within `timeout` are named in "unanswered" (their own links are then missing).
mesh::Json Topology(mesh::Node* node, std::chrono::milliseconds timeout);

}  // namespace cli

#endif  // CLI_TOPOLOGY_H_
