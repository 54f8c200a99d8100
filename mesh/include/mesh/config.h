// Config: every knob of a mesh node, each with its documented default (DESIGN §6). Start
// from the defaults and change what you need; Config::FastTimings() gives the short timers
// the tests use. Value type.
#ifndef MESH_CONFIG_H_
#define MESH_CONFIG_H_

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "mesh/certificate.h"
#include "mesh/identity.h"

namespace mesh {

using Millis = std::chrono::milliseconds;

enum class LogLevel { kDebug, kInfo, kWarn, kError };
// Log lines never carry message payloads, keys or shares; only names, ids and reasons.
using LogFunction = std::function<void(LogLevel, const std::string&)>;

struct Config {
  // --- Identity and admission -------------------------------------------------------------
  // The node's key, its certificate (role node, or client for Client) and the cluster CA's
  // key. Load them with mesh/key_files.h.
  std::shared_ptr<const SigningKey> key;
  Certificate certificate;
  PublicKey ca_key{};

  // --- Addresses ----------------------------------------------------------------------------
  std::string listen = "127.0.0.1:7400";  // host:port; port 0 picks a free port
  std::string advertise;                  // what others dial; empty: the bound listen address
  std::vector<std::string> join;          // host:port or dns-name:port; retried until one works
  std::string data_dir;  // peer store and sequence reservations; empty: nothing persisted
  LogFunction log;       // empty: silent. Called on the node's I/O thread.

  // --- Links --------------------------------------------------------------------------------
  size_t max_message_bytes = 1 << 20;  // one application message (1 MiB)
  size_t send_queue_messages = 1024;   // per link; a peer that lets it fill is disconnected
  size_t send_queue_bytes = 16 << 20;  // per link
  Millis handshake_timeout{5000};      // WebSocket + Noise handshake, from TCP accept
  Millis idle_timeout{30000};          // no frame at all for this long closes a link
  // A quiet link is pinged (WebSocket ping) after half the idle timeout.
  size_t max_pending_handshakes = 64;  // inbound handshakes in progress
  size_t max_links = 256;              // all links, inbound and outbound, nodes and clients
  Millis reconnect_base{250};          // backoff: random in [0, min(cap, base * 2^failures)]
  Millis reconnect_cap{30000};

  // --- Views --------------------------------------------------------------------------------
  size_t active_target = 6;      // active links a node keeps (a small cluster becomes a full mesh)
  size_t active_max = 12;        // more than this and the node closes some
  Millis transient_idle{10000};  // unused probe / direct links close after this

  // --- Failure detection (SWIM with Lifeguard suspicion) ----------------------------------
  Millis probe_interval{1000};  // one probe round
  Millis probe_timeout{500};    // direct ping answer; then indirect probes
  size_t indirect_probes = 3;   // members asked to probe a silent target
  // Suspicion lasts from suspicion_mult * log10(max(members, 10)) * probe_interval, with k
  // independent confirmations, up to suspicion_max_mult times that with none.
  double suspicion_mult = 4.0;
  double suspicion_max_mult = 6.0;
  // Lifeguard local health: each own probe that fails without the helpers' NACKs (so the
  // fault may be here), and each refutation, add 1; each answered probe takes 1 off. Probe
  // rounds and timeouts last (1 + that) times longer, so a slow or overloaded node probes
  // (and suspects) less. At most lhm_max; 0 turns it off.
  size_t lhm_max = 8;
  Millis reap_after{std::chrono::hours(1)};  // dead and left members are forgotten after this

  // --- Dissemination ------------------------------------------------------------------------
  Millis anti_entropy_interval{10000};  // push-pull of the member list with one random peer
  uint8_t gossip_hop_limit = 32;        // tree repairs may route around; the seen cache stops loops
  // Tree dissemination (Plumtree): each envelope goes whole along the "eager" active links,
  // which prune themselves to a spanning tree, and as an id only (IHAVE, batched each timer
  // tick) on the "lazy" others; an announced id that does not arrive is pulled with GRAFT,
  // which also repairs the tree. false: flood every envelope on every active link.
  bool tree_broadcast = true;
  // Below this many live members (self included) envelopes are flooded all the same: a small
  // cluster is about a full mesh, where the tree saves little, and an envelope that the
  // pruned tree misses (after a join, a trim) waits ihave_timeout for its GRAFT.
  size_t tree_min_members = 32;
  Millis ihave_timeout{100};            // an id announced but not received: GRAFT it after this
  Millis graft_timeout{50};             // no answer to a GRAFT: the next announcer, this much later
  Millis tree_cache_ttl{3000};          // accepted envelopes kept this long to answer GRAFTs
  size_t tree_cache_bytes = 16u << 20;  // and at most this many bytes of them (oldest go first)
  size_t max_missing_ids = 8192;        // announced ids waiting to arrive, at most
  Millis replay_window{60000};          // broadcasts stamped further from local time are dropped
  Millis seen_ttl{120000};              // must exceed replay_window
  size_t seen_cache_max = 500000;

  // --- Signature checks -------------------------------------------------------------------
  // Gossip signatures are checked on this many worker threads, and the node's I/O thread
  // finishes each envelope (delivery, forwarding). 0: checked on the I/O thread itself.
  // Default: min(2, hardware threads).
  size_t verify_threads = std::min<size_t>(2, std::thread::hardware_concurrency());
  // Envelopes accepted so far but waiting for their signature check, at most; more are dropped
  // (dropped.verify_backlog). A safety bound: a node's workers queue only a few jobs each, and
  // past that its I/O thread checks signatures itself, which slows reading from the links.
  size_t max_verify_inflight = 4096;
  size_t max_verify_inflight_bytes = 64 << 20;  // the same, in envelope bytes

  // --- Direct messages and requests -------------------------------------------------------
  Millis request_timeout{5000};  // used when Request is given no timeout
  size_t max_pending_requests = 4096;
  size_t direct_queue_max = 256;  // per peer, while a link to it is being dialed

  // Short timers for loopback, tests and `meshvault dev`: probe 200 ms (timeout 100 ms),
  // suspicion 0.8 s with enough confirmations up to 4.8 s with none, anti-entropy 1 s.
  static Config FastTimings();
};

inline Config Config::FastTimings() {
  Config c;
  c.handshake_timeout = Millis(2000);
  c.idle_timeout = Millis(5000);
  c.reconnect_base = Millis(50);
  c.reconnect_cap = Millis(1000);
  c.transient_idle = Millis(2000);
  c.probe_interval = Millis(200);
  c.probe_timeout = Millis(100);
  c.suspicion_mult = 4.0;
  c.anti_entropy_interval = Millis(1000);
  c.reap_after = Millis(60000);
  return c;
}

}  // namespace mesh

#endif  // MESH_CONFIG_H_
