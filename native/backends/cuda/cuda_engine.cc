// The cuda backend's engine, built the way TensorRT's builder works: plan where every tensor lives
// (planner.cc), create one op per node on the engine's GPU, time every tactic of every op on that
// GPU and keep the fastest (cuda_tuner.cc), and plan the activation arena by liveness. Also the
// plan's cuda section (format, sm, tactics) and engine.details().
#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "backends/cuda/cuda_engine.h"
#include "backends/cuda/probe.h"

namespace trtn::cuda {

/// The cuda plan section's newest format: 2 when the plan merges sibling convolutions or folds
/// poolings into convolutions (so a build from before them refuses it as a newer format rather
/// than missing tactics), else 1. This build reads both.
constexpr int kPlanFormat = 2;

namespace {

/// Tactics are timed at min(maxBatchSize, this) unless the build names a batch.
constexpr int kDefaultTuneBatch = 32;

/// One entry of engine.details().layers (stream: its lane, -1 for an elided node).
void write_layer(json::Writer& w, const Node& n, const TacticChoice& c, int stream) {
  // clang-format off
  w.begin_object()
      .key("name").string(n.name)
      .key("op").string(n.op)
      .key("precision").string(precision_name(n.precision))
      .key("tactic").string(c.name)
      .key("candidates").number(c.candidates)
      .key("fromCache").boolean(c.from_cache)
      .key("stream").number(stream);
  // clang-format on
  if (c.ms >= 0) w.key("ms").number(c.ms);
  w.end_object();
}

}  // namespace

bool env_flag(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' && std::strcmp(v, "0") != 0;
}

const CudaEnv& cuda_env() {
  static const CudaEnv env = [] {
    CudaEnv e;
    e.linear = env_flag("TRTN_CUDA_LINEAR");
    e.no_tuning = env_flag("TRTN_CUDA_NO_TUNING");
    e.no_graphs = env_flag("TRTN_CUDA_NO_GRAPHS");
    e.strict_tactics = env_flag("TRTN_CUDA_STRICT_TACTICS");
    const char* split_k = std::getenv("TRTN_CUDA_SPLIT_K");  // on unless "0" (an A/B switch)
    e.split_k = split_k == nullptr || std::strcmp(split_k, "0") != 0;
    e.gemv_u4 = env_flag("TRTN_CUDA_GEMV_U4");
    e.mma_split_k = env_flag("TRTN_CUDA_MMA_SPLIT_K");
    e.lrn_q = env_flag("TRTN_CUDA_LRN_Q");
    e.softmax_block = env_flag("TRTN_CUDA_SOFTMAX_BLOCK");
    return e;
  }();
  return env;
}

Status open_device(int index, DeviceProps* props, std::string* name) {
  cudaDeviceProp prop{};
  TRTN_TRY(select_device(index, "cuda", &prop));
  if (prop.major * 10 + prop.minor < kMinSm) {
    return Status(Code::kNoDevice, std::string("cuda backend: GPU ") + std::to_string(index) + " (" + prop.name +
                                       ") has compute capability " + std::to_string(prop.major) + "." +
                                       std::to_string(prop.minor) + "; " + min_capability() + " or newer is needed");
  }
  props->index = index;
  props->sm = prop.major * 10 + prop.minor;
  props->multiprocessors = prop.multiProcessorCount;
  props->shared_per_block_optin = prop.sharedMemPerBlockOptin;
  if (name != nullptr) *name = prop.name;
  return Status::ok();
}

Status CudaEngine::choose_device(int index) { return open_device(index, &props_, &device_name_); }

Status CudaEngine::init(const BuildInput& in, bool loading) {
  TRTN_TRY(choose_device(in.device));
  json::Value section;
  aux_streams_ = in.max_aux_streams < 0 ? kDefaultLanes - 1 : in.max_aux_streams;
  if (loading) {
    const std::string text(in.backend_section.begin(), in.backend_section.end());
    if (!json::parse(text, &section).is_ok() || !section.is_object()) {
      return Status(Code::kPlanCorrupt, "the cuda plan section is not a JSON object");
    }
    int64_t format = 0, sm = 0;
    if (!json::get_int(section, "format", "cuda plan section", &format).is_ok() ||
        !json::get_int(section, "sm", "cuda plan section", &sm).is_ok()) {
      return Status(Code::kPlanCorrupt, "the cuda plan section lacks its format or sm");
    }
    if (format < 1 || format > kPlanFormat) {
      return Status(Code::kPlanVersion, "the cuda plan section has format " + std::to_string(format) +
                                            "; this build reads formats 1 to " + std::to_string(kPlanFormat));
    }
    // Plans from before auxiliary streams ran everything on one stream.
    int64_t aux = 0;
    if (section.get("auxStreams") != nullptr &&
        !json::get_int(section, "auxStreams", "cuda plan section", &aux).is_ok()) {
      return Status(Code::kPlanCorrupt, "the cuda plan section's auxStreams is not an integer");
    }
    aux_streams_ = static_cast<int>(std::clamp<int64_t>(aux, 0, kMaxLanes - 1));
    // A plan from before these fusions existed made none.
    for (auto [key, flag] : {std::pair<const char*, bool*>{"mergeSiblings", &merge_}, {"poolConvs", &pool_conv_}}) {
      *flag = false;
      if (section.get(key) != nullptr && !json::get_bool(section, key, "cuda plan section", flag).is_ok()) {
        return Status(Code::kPlanCorrupt, std::string("the cuda plan section's ") + key + " is not a boolean");
      }
    }
    if (sm != props_.sm) {
      return Status(Code::kPlanArch, "the plan was built for sm_" + std::to_string(sm) + " but GPU " +
                                         std::to_string(props_.index) + " (" + device_name_ + ") is sm_" +
                                         std::to_string(props_.sm) + ": rebuild the engine on this GPU");
    }
  }
  // maxBatchSize is a promise: refuse an engine that some batch up to it would run out of range.
  index_range_ = cuda::index_range(*graph_);
  TRTN_TRY(check_index_range(index_range_, graph_->max_batch, "maxBatchSize"));
  if (aux_streams_ < 0 || aux_streams_ > kMaxLanes - 1) {
    return Status(Code::kInvalidArgument, "maxAuxStreams is " + std::to_string(aux_streams_) + "; give 0 to " +
                                              std::to_string(kMaxLanes - 1) + " (0: one stream)");
  }
  if (!loading) {
    merge_ = env_flag("TRTN_CUDA_MERGE");
    pool_conv_ = env_flag("TRTN_CUDA_POOL_CONV") && props_.sm >= 80;  // its kernels need tensor cores
  }
  plan_ = plan_engine(*graph_, !cuda_env().linear, aux_streams_ + 1,
                      PlanFusions{env_flag("TRTN_CUDA_FUSION"), merge_, pool_conv_});
  ops_.resize(graph_->nodes.size());
  choices_.assign(graph_->nodes.size(), TacticChoice{});
  for (size_t i = 0; i < graph_->nodes.size(); ++i) {
    if (plan_.elided[i] || plan_.merged_into[i] >= 0) {
      choices_[i].name = plan_.elided[i] ? "elided" : "merged into '" + graph_->nodes[plan_.merged_into[i]].name + "'";
      continue;
    }
    CudaOpInit init{OpInit{*graph_, graph_->nodes[i], *weights_, "cuda"}, plan_.places, props_};
    if (!plan_.merge_members[i].empty()) {
      std::vector<CudaOpInit> members;
      for (int m : plan_.merge_members[i]) {
        members.push_back(CudaOpInit{OpInit{*graph_, graph_->nodes[m], *weights_, "cuda"}, plan_.places, props_});
      }
      TRTN_TRY(make_merged_convolution(members, plan_.merge_span[i], &ops_[i]));
    } else if (plan_.pool_of[i] >= 0) {
      const int pooled = graph_->nodes[plan_.pool_of[i]].inputs[0];
      TRTN_TRY(make_pooled_convolution(init, plan_.places[pooled], &ops_[i]));
    } else {
      TRTN_TRY(make_op(init, &ops_[i]));
    }
    choices_[i].name = ops_[i]->tactic_name(ops_[i]->tactic());
    choices_[i].candidates = ops_[i]->tactic_count();
  }
  TRTN_TRY(make_fused_ops());
  if (loading) {
    const json::Value* tactics = section.get("tactics");
    if (tactics == nullptr || !tactics->is_object())
      return Status(Code::kPlanCorrupt, "the cuda plan section has no tactics");
    TRTN_TRY(apply_tactics(*tactics));
    name_fusions();
    return Status::ok();
  }
  std::map<std::string, std::string> given;
  if (!in.timing_cache.empty()) {
    json::Value cache;
    if (!json::parse(in.timing_cache, &cache).is_ok() || !cache.is_object()) {
      return Status(Code::kInvalidArgument, "the timing cache is not a JSON object");
    }
    for (const auto& [k, v] : cache.fields()) {
      if (v.is_string()) given[k] = v.as_string();
    }
  }
  tune_batch_ =
      in.tune_batch > 0 ? std::min(in.tune_batch, graph_->max_batch) : std::min(graph_->max_batch, kDefaultTuneBatch);
  TRTN_TRY(tune(tune_batch_, given));
  name_fusions();
  return Status::ok();
}

Status CudaEngine::make_fused_ops() {
  fused_.resize(graph_->nodes.size());
  for (size_t i = 0; i < graph_->nodes.size(); ++i) {
    const int j = plan_.fused_next[i];
    if (j < 0) continue;
    CudaOpInit first{OpInit{*graph_, graph_->nodes[i], *weights_, "cuda"}, plan_.places, props_};
    CudaOpInit second{OpInit{*graph_, graph_->nodes[j], *weights_, "cuda"}, plan_.places, props_};
    TRTN_TRY(make_lrn_pool(first, second, &fused_[i]));
  }
  return Status::ok();
}

void CudaEngine::name_fusions() {
  for (size_t i = 0; i < graph_->nodes.size(); ++i) {
    const int j = plan_.fused_next[i];
    if (j < 0) continue;
    const bool lrn_first = graph_->nodes[i].kind == OpKind::kLRN;
    choices_[i].name =
        std::string(lrn_first ? "lrn_max_pool" : "max_pool_lrn") + " (with '" + graph_->nodes[j].name + "')";
    choices_[j].name = "fused into '" + graph_->nodes[i].name + "'";
    choices_[j].ms = -1;
  }
  for (size_t i = 0; i < graph_->nodes.size(); ++i) {
    const int pool = plan_.pool_of[i];
    if (pool < 0) continue;
    choices_[pool].name = "fused into '" + graph_->nodes[i].name + "'";
    choices_[pool].ms = -1;
  }
}

Status CudaEngine::apply_tactics(const json::Value& tactics) {
  for (size_t i = 0; i < graph_->nodes.size(); ++i) {
    if (!ops_[i]) continue;
    const json::Value* v = tactics.get(graph_->nodes[i].name);
    if (v == nullptr || !v->is_string()) {
      return Status(Code::kPlanCorrupt, "the cuda plan section has no tactic for node '" + graph_->nodes[i].name + "'");
    }
    int found = -1;
    for (int k = 0; k < ops_[i]->tactic_count(); ++k) {
      if (ops_[i]->tactic_name(k) == v->as_string()) found = k;
    }
    if (found < 0) {
      return Status(Code::kPlanVersion, "node '" + graph_->nodes[i].name + "': tactic '" + v->as_string() +
                                            "' does not exist in this build; rebuild the engine");
    }
    TRTN_TRY(ops_[i]->set_tactic(found));
    choices_[i].name = v->as_string();
  }
  return Status::ok();
}

Status CudaEngine::create_context(std::unique_ptr<Context>* out) {
  TRTN_CUDA_TRY(cudaSetDevice(props_.index));
  auto ctx = std::make_unique<CudaContext>(this);
  TRTN_TRY(ctx->init());
  *out = std::move(ctx);
  return Status::ok();
}

Status CudaEngine::serialize_backend(std::vector<uint8_t>* out) const {
  json::Writer w;
  const int format = merge_ || pool_conv_ ? kPlanFormat : 1;
  w.begin_object().key("format").number(format).key("sm").number(props_.sm).key("device").string(device_name_);
  w.key("auxStreams").number(aux_streams_);
  w.key("mergeSiblings").boolean(merge_);
  w.key("poolConvs").boolean(pool_conv_);
  w.key("tactics").begin_object();
  for (size_t i = 0; i < ops_.size(); ++i) {
    if (ops_[i]) w.key(graph_->nodes[i].name).string(ops_[i]->tactic_name(ops_[i]->tactic()));
  }
  w.end_object().end_object();
  std::string s;
  TRTN_TRY(w.finish(&s));
  out->assign(s.begin(), s.end());
  return Status::ok();
}

std::string CudaEngine::info_json() const {
  json::Writer w;
  // clang-format off
  w.begin_object()
      .key("device").number(props_.index)
      .key("deviceName").string(device_name_)
      .key("sm").number(props_.sm)
      .key("tuneBatch").number(tune_batch_)
      .key("tuneSeconds").number(tune_seconds_)
      .key("elidedConcats").number(plan_.elided_concats)
      .key("aliasedReshapes").number(plan_.aliased_reshapes)
      .key("nhwcTensors").number(plan_.nhwc_tensors)
      .key("fusions").number(plan_.fusions)
      .key("merges").number(plan_.merges)
      .key("pooledConvs").number(plan_.pooled_convs)
      .key("maxAuxStreams").number(aux_streams_)
      .key("streams").number(plan_.schedule.lanes)
      .key("layers").begin_array();
  // clang-format on
  for (size_t i = 0; i < graph_->nodes.size(); ++i)
    write_layer(w, graph_->nodes[i], choices_[i], plan_.schedule.lane[i]);
  w.end_array().key("timingCache").begin_object();
  {
    std::lock_guard<std::mutex> lock(timing_cache().mu);
    for (const auto& [k, v] : timing_cache().entries) w.key(k).string(v);
  }
  w.end_object().key("tensors").string(describe_plan(*graph_, plan_)).end_object();
  return w.text();
}

}  // namespace trtn::cuda
