#include "strategies/controller.h"

#include <algorithm>
#include <cmath>
#include <map>

#include <fmt/format.h>
#include <torch/nn/utils/clip_grad.h>
#include <torch/torch.h>

#include "core/error.h"

namespace nas::strategies {

namespace {

/// Fills `t` (float) from `rng`: uniform in [-range, range), or normal with
/// std `range` (Box-Muller) when `normal`.
void fill_from(torch::Tensor t, core::Rng& rng, double range, bool normal) {
  std::vector<float> v(static_cast<size_t>(t.numel()));
  for (auto& x : v) {
    if (normal) {
      const double u1 = 1.0 - rng.uniform(), u2 = rng.uniform();
      x = static_cast<float>(range * std::sqrt(-2 * std::log(u1)) * std::cos(2 * M_PI * u2));
    } else {
      x = static_cast<float>(range * (2 * rng.uniform() - 1));
    }
  }
  torch::NoGradGuard guard;
  t.copy_(torch::from_blob(v.data(), t.sizes(), torch::kFloat32));
}

torch::Tensor masked_ops(const std::vector<search_space::Decision>& decisions, int64_t k,
                         bool exclude_none) {
  auto mask = torch::zeros({static_cast<int64_t>(decisions.size()), k});
  for (size_t d = 0; d < decisions.size(); ++d) {
    for (int64_t c = 0; c < k; ++c) {
      const bool none = decisions[d].candidates[static_cast<size_t>(c)] == "none";
      if (!decisions[d].allows(c) || (exclude_none && none)) {
        mask[static_cast<int64_t>(d)][c] = search_space::kMaskedLogit;
      }
    }
  }
  return mask;
}

}  // namespace

ControllerImpl::ControllerImpl(const search_space::SearchSpace& space,
                               const ControllerOptions& options, core::Rng& rng)
    : space_(&space), opts_(options) {
  const auto decisions = space.decisions();
  decisions_ = static_cast<int64_t>(decisions.size());
  candidates_ = space.num_candidates();
  nodes_ = space.node_inputs();
  op_mask_ = masked_ops(decisions, candidates_, !nodes_.empty());
  if (opts_.policy == "table") {
    table_ = register_parameter("table", torch::zeros({decisions_, candidates_}));
    fill_from(table_, rng, 1e-3, true);
    int64_t widest = 1;
    for (const auto& n : nodes_) widest = std::max<int64_t>(widest, n.decisions.size());
    input_table_ = register_parameter(
        "input_table", torch::zeros({std::max<int64_t>(1, nodes_.size()), widest}));
    fill_from(input_table_, rng, 1e-3, true);
    return;
  }
  const int64_t h = opts_.lstm_size;
  for (int64_t l = 0; l < opts_.lstm_layers; ++l) {
    cells_.push_back(register_module(fmt::format("lstm{}", l), torch::nn::LSTMCell(h, h)));
  }
  start_ = register_parameter("start", torch::zeros({1, h}));
  embed_ = register_module("embed", torch::nn::Embedding(candidates_, h));
  head_ = register_module("head", torch::nn::Linear(h, candidates_));
  if (!nodes_.empty()) {
    attn_1_ = register_module("attn_1", torch::nn::Linear(torch::nn::LinearOptions(h, h).bias(false)));
    attn_2_ = register_module("attn_2", torch::nn::Linear(torch::nn::LinearOptions(h, h).bias(false)));
    attn_v_ = register_module("attn_v", torch::nn::Linear(torch::nn::LinearOptions(h, 1).bias(false)));
  }
  for (auto& p : parameters()) fill_from(p, rng, opts_.init_range, false);
}

ControllerImpl::Draw ControllerImpl::draw(const torch::Tensor& logits, core::Rng* rng) {
  const auto logp = torch::log_softmax(logits, 0);
  const auto p = logp.detach().exp().to(torch::kFloat64).contiguous();
  const auto* pp = p.data_ptr<double>();
  const int64_t n = p.numel();
  int64_t pick = 0;
  if (rng == nullptr) {
    for (int64_t i = 1; i < n; ++i) pick = pp[i] > pp[pick] ? i : pick;
  } else {
    // Inverse CDF; columns of probability 0 are never picked.
    const double u = rng->uniform();
    double cum = 0;
    pick = -1;
    for (int64_t i = 0; i < n && pick < 0; ++i) {
      cum += pp[i];
      if (pp[i] > 0 && cum > u) pick = i;
    }
    for (int64_t i = n - 1; pick < 0 && i >= 0; --i) pick = pp[i] > 0 ? i : pick;
  }
  const auto lp = logp.detach().to(torch::kFloat64).contiguous();
  double entropy = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (pp[i] > 0) entropy -= pp[i] * lp.data_ptr<double>()[i];
  }
  return {pick, logp[pick], entropy};
}

torch::Tensor ControllerImpl::lstm_step(const torch::Tensor& input) {
  auto x = input;
  for (size_t l = 0; l < cells_.size(); ++l) {
    state_[l] = cells_[l]->forward(x, state_[l]);
    x = std::get<0>(state_[l]);
  }
  return x;
}

torch::Tensor ControllerImpl::squash(torch::Tensor logits, bool op) const {
  logits = logits / opts_.temperature;
  if (opts_.tanh_constant > 0) {
    const double c = op ? opts_.tanh_constant / opts_.op_tanh_reduce : opts_.tanh_constant;
    logits = c * torch::tanh(logits);
  }
  return logits;
}

torch::Tensor ControllerImpl::op_logits(int64_t decision, const torch::Tensor& h) {
  const auto raw = table_.defined() ? table_[decision] : squash(head_(h).view({-1}), true);
  return raw + op_mask_[decision];
}

void ControllerImpl::reset_state() {
  state_.clear();
  for (size_t l = 0; l < cells_.size(); ++l) {
    state_.emplace_back(torch::zeros({1, opts_.lstm_size}), torch::zeros({1, opts_.lstm_size}));
  }
}

ControllerSample ControllerImpl::sample(core::Rng* rng) {
  reset_state();
  return nodes_.empty() ? sample_ops(rng, nullptr) : sample_nodes(rng, nullptr);
}

torch::Tensor ControllerImpl::greedy_probabilities() {
  torch::NoGradGuard guard;
  auto probs = torch::zeros({decisions_, candidates_});
  reset_state();
  if (nodes_.empty()) {
    sample_ops(nullptr, &probs);
  } else {
    sample_nodes(nullptr, &probs);
  }
  return probs;
}

ControllerSample ControllerImpl::sample_ops(core::Rng* rng, torch::Tensor* probs) {
  ControllerSample s;
  std::vector<torch::Tensor> log_probs;
  auto x = start_;
  for (int64_t d = 0; d < decisions_; ++d) {
    const auto logits = op_logits(d, table_.defined() ? torch::Tensor() : lstm_step(x));
    const auto c = draw(logits, rng);
    if (probs != nullptr) (*probs)[d].copy_(torch::softmax(logits, 0));
    s.ops.push_back(c.index);
    log_probs.push_back(c.log_prob);
    s.entropy += c.entropy;
    if (!table_.defined()) x = embed_(torch::tensor({c.index}));
  }
  s.log_prob = torch::stack(log_probs).sum();
  return s;
}

ControllerSample ControllerImpl::sample_nodes(core::Rng* rng, torch::Tensor* probs) {
  ControllerSample s;
  s.ops.assign(static_cast<size_t>(decisions_), -1);
  std::vector<torch::Tensor> log_probs;
  const bool lstm = !table_.defined();
  std::vector<torch::Tensor> anchors, keys;  // per state of the current cell
  int64_t cell = -1;
  auto x = start_;
  for (size_t n = 0; n < nodes_.size(); ++n) {
    const auto& node = nodes_[n];
    if (node.cell != cell) {
      cell = node.cell;
      anchors.clear();
      keys.clear();
      for (int64_t st = 0; lstm && st < node.state; ++st) {
        const auto h = lstm_step(start_);
        anchors.push_back(torch::zeros_like(h));
        keys.push_back(attn_1_(h));
      }
      x = start_;
    }
    const auto inputs = static_cast<int64_t>(node.decisions.size());
    auto taken = torch::zeros({inputs});
    std::vector<int64_t> chosen;
    for (int64_t t = 0; t < node.keep; ++t) {
      torch::Tensor logits;
      if (lstm) {
        const auto h = lstm_step(x);
        const auto q = torch::tanh(torch::cat(keys, 0).narrow(0, 0, inputs) + attn_2_(h));
        logits = squash(attn_v_(q).view({-1}), false);
      } else {
        logits = input_table_[static_cast<int64_t>(n)].narrow(0, 0, inputs);
      }
      const auto c = draw(logits + taken, rng);
      taken[c.index] = search_space::kMaskedLogit;
      chosen.push_back(c.index);
      log_probs.push_back(c.log_prob);
      s.entropy += c.entropy;
      if (lstm) x = anchors[static_cast<size_t>(c.index)];
    }
    for (const int64_t j : chosen) {
      const int64_t d = node.decisions[static_cast<size_t>(j)];
      const auto logits = op_logits(d, lstm ? lstm_step(x) : torch::Tensor());
      const auto c = draw(logits, rng);
      if (probs != nullptr) (*probs)[d].copy_(torch::softmax(logits, 0));
      s.ops[static_cast<size_t>(d)] = c.index;
      log_probs.push_back(c.log_prob);
      s.entropy += c.entropy;
      if (lstm) x = embed_(torch::tensor({c.index}));
    }
    if (lstm) {
      const auto h = lstm_step(x);
      anchors.push_back(h);
      keys.push_back(attn_1_(h));
      x = start_;
    }
  }
  s.log_prob = torch::stack(log_probs).sum();
  return s;
}

torch::Tensor ControllerImpl::weights(const ControllerSample& s) const {
  auto w = torch::zeros({decisions_, candidates_});
  for (int64_t d = 0; d < decisions_; ++d) {
    if (s.ops[static_cast<size_t>(d)] >= 0) w[d][s.ops[static_cast<size_t>(d)]] = 1.0;
  }
  return w;
}

search_space::Architecture ControllerImpl::architecture(const ControllerSample& s) const {
  return space_->derive(weights(s));
}

Reinforce::Reinforce(Controller controller, const ReinforceOptions& options)
    : controller_(std::move(controller)), opts_(options) {
  params_ = controller_->parameters();
  for (const auto& p : params_) {
    m_.push_back(torch::zeros_like(p));
    v_.push_back(torch::zeros_like(p));
  }
}

double Reinforce::learn(const ControllerSample& s, double score) {
  const double reward = score + opts_.entropy_weight * s.entropy;
  const double d = opts_.baseline_decay;
  num_ = d * num_ + (1 - d) * reward;
  den_ = d * den_ + (1 - d);
  baseline_ = num_ / den_;
  const auto loss = -s.log_prob * ((reward - baseline_) / static_cast<double>(opts_.aggregate));
  loss.backward();
  if (++samples_ % opts_.aggregate == 0) {
    if (opts_.controller_grad_clip > 0) {
      torch::nn::utils::clip_grad_norm_(params_, opts_.controller_grad_clip);
    }
    adam_step();
  }
  return reward;
}

void Reinforce::adam_step() {
  torch::NoGradGuard guard;
  ++steps_;
  const double b1 = opts_.controller_beta1, b2 = 0.999;
  const double bc1 = 1 - std::pow(b1, static_cast<double>(steps_));
  const double bc2 = 1 - std::pow(b2, static_cast<double>(steps_));
  for (size_t i = 0; i < params_.size(); ++i) {
    auto& g = params_[i].mutable_grad();
    if (!g.defined()) continue;
    m_[i].mul_(b1).add_(g, 1 - b1);
    v_[i].mul_(b2).addcmul_(g, g, 1 - b2);
    const auto denom = v_[i].sqrt() / std::sqrt(bc2) + opts_.controller_eps;
    params_[i].addcdiv_(m_[i], denom, -opts_.controller_lr / bc1);
    g.zero_();
  }
}

std::vector<std::pair<std::string, torch::Tensor>> Reinforce::state() const {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (size_t i = 0; i < params_.size(); ++i) {
    const auto& g = params_[i].grad();
    out.emplace_back(fmt::format("param{}", i), params_[i].detach().clone());
    out.emplace_back(fmt::format("grad{}", i),
                     g.defined() ? g.clone() : torch::zeros_like(params_[i]));
    out.emplace_back(fmt::format("m{}", i), m_[i].clone());
    out.emplace_back(fmt::format("v{}", i), v_[i].clone());
  }
  out.emplace_back("counters", torch::tensor({steps_, samples_}, torch::kInt64));
  out.emplace_back("baseline", torch::tensor({baseline_, num_, den_}, torch::kFloat64));
  return out;
}

void Reinforce::set_state(const std::vector<std::pair<std::string, torch::Tensor>>& state) {
  std::map<std::string, torch::Tensor> by_name(state.begin(), state.end());
  auto get = [&](const std::string& name) {
    const auto it = by_name.find(name);
    if (it == by_name.end()) throw Error(fmt::format("controller state: no '{}'", name));
    return it->second;
  };
  torch::NoGradGuard guard;
  for (size_t i = 0; i < params_.size(); ++i) {
    const auto p = get(fmt::format("param{}", i));
    if (!p.sizes().equals(params_[i].sizes())) {
      throw Error(fmt::format("controller state: param{} is {}, the controller's is {}", i,
                              fmt::join(p.sizes(), "x"), fmt::join(params_[i].sizes(), "x")));
    }
    params_[i].copy_(p);
    params_[i].mutable_grad() = get(fmt::format("grad{}", i)).clone();
    m_[i].copy_(get(fmt::format("m{}", i)));
    v_[i].copy_(get(fmt::format("v{}", i)));
  }
  const auto counters = get("counters");
  steps_ = counters[0].item<int64_t>();
  samples_ = counters[1].item<int64_t>();
  const auto b = get("baseline");
  baseline_ = b[0].item<double>();
  num_ = b[1].item<double>();
  den_ = b[2].item<double>();
}

namespace {
const char* dtype_name(torch::ScalarType t) {
  return t == torch::kInt64 ? "int64" : t == torch::kFloat64 ? "float64" : "float32";
}
torch::ScalarType dtype_of(const std::string& name) {
  if (name == "int64") return torch::kInt64;
  if (name == "float64") return torch::kFloat64;
  if (name == "float32") return torch::kFloat32;
  throw Error(fmt::format("controller state: unknown dtype '{}'", name));
}
}  // namespace

nlohmann::json Reinforce::state_json() const {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [name, t] : state()) {
    const auto flat = t.to(torch::kFloat64).contiguous().view({-1});
    const auto* p = flat.data_ptr<double>();
    j[name] = {{"shape", t.sizes().vec()},
               {"dtype", dtype_name(t.scalar_type())},
               {"data", std::vector<double>(p, p + flat.numel())}};
  }
  return j;
}

void Reinforce::set_state_json(const nlohmann::json& j) {
  std::vector<std::pair<std::string, torch::Tensor>> state;
  for (const auto& [name, v] : j.items()) {
    const auto data = v.at("data").get<std::vector<double>>();
    const auto t = torch::tensor(data, torch::kFloat64)
                       .view(v.at("shape").get<std::vector<int64_t>>())
                       .to(dtype_of(v.at("dtype").get<std::string>()));
    state.emplace_back(name, t);
  }
  set_state(state);
}

}  // namespace nas::strategies
