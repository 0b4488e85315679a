// Concurrent branches (schedule.h): the memory each node touches, the nodes it depends on, lanes
// as chains of dependent nodes, the fewest waits between lanes, and which roots may share bytes.
#include "backends/cuda/schedule.h"

#include <algorithm>
#include <limits>

#include "backends/cuda/op.h"

namespace trtn::cuda {
namespace {

/// Part of a root a node reads or writes: channels [lo, hi) (the whole root unless a Concat slice).
struct Access {
  int root;
  int64_t lo, hi;
  bool write;
  int node;
};

bool overlap(const Access& a, const Access& b) { return a.root == b.root && a.lo < b.hi && b.lo < a.hi; }

Access access_of(const std::vector<Place>& places, const std::vector<bool>& alias, int t, bool write, int node) {
  const Place& p = places[t];
  if (p.root == t || alias[t]) return Access{p.root, 0, std::numeric_limits<int64_t>::max(), write, node};
  return Access{p.root, p.c_offset, p.c_offset + std::max(p.c, p.c_write), write, node};
}

using Bits = std::vector<uint64_t>;

void set_bit(Bits* b, int i) { (*b)[static_cast<size_t>(i) / 64] |= uint64_t{1} << (i % 64); }
bool has_bit(const Bits& b, int i) { return (b[static_cast<size_t>(i) / 64] >> (i % 64) & 1) != 0; }
/// b |= a and a's node itself.
void absorb(Bits* b, const Bits& a, int node) {
  for (size_t k = 0; k < b->size(); ++k) (*b)[k] |= a[k];
  set_bit(b, node);
}

/// The earlier nodes whose accesses conflict with node i's (read after write, write after read or
/// write); `history` holds every earlier access per root.
std::vector<int> dependencies(const std::vector<Access>& mine, const std::vector<std::vector<Access>>& history) {
  std::vector<int> deps;
  for (const Access& a : mine) {
    for (const Access& e : history[a.root]) {
      if ((a.write || e.write) && overlap(a, e)) deps.push_back(e.node);
    }
  }
  std::sort(deps.begin(), deps.end());
  deps.erase(std::unique(deps.begin(), deps.end()), deps.end());
  return deps;
}

/// The lane node i continues: a lane whose last node is a dependency (the latest such: a chain goes
/// on), else one whose last node is complete anyway or an unused lane, else the lane idle longest.
int pick_lane(const std::vector<int>& deps, const Bits& implied, const std::vector<int>& tail) {
  int chain = -1, free = -1, oldest = 0;
  for (int l = 0; l < static_cast<int>(tail.size()); ++l) {
    const int t = tail[l];
    if (t >= 0 && std::binary_search(deps.begin(), deps.end(), t) && (chain < 0 || t > tail[chain])) chain = l;
    if (free < 0 && (t < 0 || has_bit(implied, t))) free = l;
    if (tail[l] < tail[oldest]) oldest = l;
  }
  return chain >= 0 ? chain : free >= 0 ? free : oldest;
}

}  // namespace

NodeAccess::NodeAccess(const Graph& g, const std::vector<int>& fused_next, const std::vector<std::vector<int>>& merged,
                       const std::vector<int>& pool_of)
    : reads(g.nodes.size()), writes(g.nodes.size()) {
  auto also_writes = [&](size_t i, int j) {
    if (j >= 0 && j != static_cast<int>(i)) {
      writes[i].insert(writes[i].end(), g.nodes[j].outputs.begin(), g.nodes[j].outputs.end());
    }
  };
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    reads[i] = g.nodes[i].inputs;
    writes[i] = g.nodes[i].outputs;
    also_writes(i, i < fused_next.size() ? fused_next[i] : -1);
    if (i < merged.size()) {
      for (int m : merged[i]) also_writes(i, m);
    }
    if (i < pool_of.size() && pool_of[i] >= 0) {
      const std::vector<int>& in = g.nodes[pool_of[i]].inputs;
      reads[i].insert(reads[i].end(), in.begin(), in.end());
      also_writes(i, pool_of[i]);
    }
  }
}

Schedule schedule_nodes(const NodeAccess& access, const std::vector<Place>& places, const std::vector<bool>& alias,
                        const std::vector<bool>& runs, int max_lanes) {
  const int n = static_cast<int>(access.reads.size());
  const size_t words = (static_cast<size_t>(n) + 63) / 64;
  Schedule s;
  s.lane.assign(n, -1);
  s.waits.assign(n, {});
  s.signals.assign(n, false);
  s.ancestors.assign(n, Bits(words, 0));
  s.tail.assign(std::max(1, std::min(max_lanes, kMaxLanes)), -1);
  std::vector<std::vector<Access>> history(places.size());
  std::vector<Access> mine;
  for (int i = 0; i < n; ++i) {
    if (!runs[i]) continue;
    mine.clear();
    for (int t : access.reads[i]) mine.push_back(access_of(places, alias, t, false, i));
    for (int t : access.writes[i]) mine.push_back(access_of(places, alias, t, true, i));
    const std::vector<int> deps = dependencies(mine, history);
    Bits implied(words, 0);
    for (int d : deps) absorb(&implied, s.ancestors[d], d);
    const int l = pick_lane(deps, implied, s.tail);
    Bits& anc = s.ancestors[i];
    if (s.tail[l] >= 0) absorb(&anc, s.ancestors[s.tail[l]], s.tail[l]);
    // Latest dependencies first: one wait often covers the earlier ones of its lane.
    for (auto d = deps.rbegin(); d != deps.rend(); ++d) {
      if (has_bit(anc, *d)) continue;
      s.waits[i].push_back(*d);
      s.signals[*d] = true;
      absorb(&anc, s.ancestors[*d], *d);
    }
    s.lane[i] = l;
    s.tail[l] = i;
    s.lanes = std::max(s.lanes, l + 1);
    for (const Access& a : mine) history[a.root].push_back(a);
  }
  s.tail.resize(s.lanes);
  return s;
}

RootConflicts::RootConflicts(const Graph& g, const NodeAccess& access, const std::vector<Place>& places,
                             const std::vector<bool>& runs, const Schedule& s)
    : s_(s),
      access_(places.size()),
      writers_(places.size()),
      from_start_(places.size(), false),
      to_end_(places.size(), false) {
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    if (!runs[i]) continue;
    for (int t : access.reads[i]) access_[places[t].root].push_back(static_cast<int>(i));
    for (int t : access.writes[i]) {
      access_[places[t].root].push_back(static_cast<int>(i));
      writers_[places[t].root].push_back(static_cast<int>(i));
    }
  }
  for (int t : g.inputs) from_start_[places[t].root] = true;
  for (int t : g.outputs) to_end_[places[t].root] = true;
}

bool RootConflicts::done_before(size_t a, size_t b) const {
  if (to_end_[a] || from_start_[b] || access_[a].empty() || writers_[b].empty()) return false;
  for (int x : access_[a]) {
    for (int y : writers_[b]) {
      if (!s_.before(x, y)) return false;
    }
  }
  return true;
}

}  // namespace trtn::cuda
