#include <gtest/gtest.h>
#include <torch/torch.h>

#include "search_space/darts_space.h"
#include "strategies/darts.h"
#include "tests/strategies/toy_space.h"

namespace nas::strategies {
namespace {

nlohmann::json options(const nlohmann::json& overrides) {
  auto o = Darts::default_options();
  if (overrides.is_object()) o.update(overrides);
  return o;
}

struct Fixture {
  std::unique_ptr<search_space::SearchSpace> space;
  core::Rng rng{1};
  SearchContext ctx;

  Fixture(std::unique_ptr<search_space::SearchSpace> s,
          const search_space::NetworkOptions& o, int64_t epochs,
          torch::Dtype dtype = torch::kFloat32) {
    space = std::move(s);
    ctx.space = space.get();
    ctx.supernet = space->build_supernet(o);
    ctx.supernet->to(dtype);
    ctx.rng = &rng;
    ctx.epochs = epochs;
    ctx.steps_per_epoch = 1;
  }
};

/// Trains on the toy space where block `planted` alone predicts the label.
int64_t planted_search(int64_t order, int64_t planted) {
  torch::manual_seed(0);
  Fixture f(std::make_unique<testing::ToySpace>(1, 5), {}, 1);
  Darts darts(options({{"order", order}, {"alpha_lr", 3e-3}}));
  darts.attach(f.ctx);
  darts.new_epoch(0);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(7);
  const auto& toy = static_cast<const testing::ToySpace&>(*f.space);
  for (int step = 0; step < 300; ++step) {
    darts.step(toy.batch(64, planted, gen), toy.batch(64, planted, gen));
  }
  return toy.to_ops(darts.best())[0];
}

TEST(Darts, FirstOrderFindsPlantedOp) { EXPECT_EQ(planted_search(1, 2), 2); }
TEST(Darts, SecondOrderFindsPlantedOp) { EXPECT_EQ(planted_search(2, 3), 3); }

search_space::NetworkOptions tiny_darts() {
  search_space::NetworkOptions o;
  o.C = 2;
  o.layers = 3;
  o.in_channels = 1;
  o.input_size = 6;
  o.num_classes = 3;
  o.affine = false;
  return o;
}

Batch random_batch(int64_t n, int64_t seed) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  Batch b;
  b.x = torch::randn({n, 1, 6, 6}, gen, torch::kFloat64);
  b.y = torch::randint(3, {n}, gen, torch::kInt64);
  return b;
}

double ce(search_space::SupernetImpl& net, const Batch& b,
          const torch::Tensor& alpha) {
  return torch::nn::functional::cross_entropy(
             net.forward(b.x, search_space::PathSpec::weighted_all(
                                  torch::softmax(alpha, 1))),
             b.y)
      .item<double>();
}

// The second-order alpha-gradient (virtual step + finite-difference
// Hessian-vector product) against central finite differences of the
// function it approximates, F(alpha) = L_val(w - xi * (dL_trn/dw + wd * w),
// alpha), on a tiny DARTS supernet in float64. Tolerance: 1e-4 of the
// largest gradient entry. The check uses R = 1e-5/|v| for the HVP: with the
// reference's R = 0.01/|v| the HVP's own finite-difference error on a net
// this small (a weight step of norm 0.01 crosses ReLU kinks) reaches tens of
// percent on single entries, which would hide a wrong formula.
TEST(Darts, SecondOrderGradientMatchesFiniteDifferences) {
  torch::manual_seed(3);
  Fixture f(std::make_unique<search_space::DartsSpace>(
                search_space::DartsSpace::default_options()),
            tiny_darts(), 10, torch::kFloat64);
  Darts darts(options({{"order", 2}, {"alpha_init_std", 0.5}, {"unrolled_r", 1e-5}}));
  darts.attach(f.ctx);
  darts.new_epoch(0);
  const double xi = 0.001 + (0.025 - 0.001) * (1 + std::cos(M_PI * 1 / 10)) / 2;
  const double wd = 3e-4;
  const auto train = random_batch(4, 1), val = random_batch(4, 2);
  StepStats stats;
  const auto grad = darts.alpha_gradient(train, val, stats);

  auto& net = *f.ctx.supernet;
  auto weights = net.parameters();
  auto F = [&](const torch::Tensor& alpha) {
    std::vector<torch::Tensor> saved;
    for (auto& w : weights) saved.push_back(w.detach().clone());
    auto loss = torch::nn::functional::cross_entropy(
        net.forward(train.x,
                    search_space::PathSpec::weighted_all(torch::softmax(alpha, 1))),
        train.y);
    auto g = torch::autograd::grad({loss}, weights, {}, false, false, true);
    {
      torch::NoGradGuard guard;
      for (size_t i = 0; i < weights.size(); ++i) {
        if (g[i].defined()) weights[i].sub_(xi * (g[i] + wd * weights[i]));
        else weights[i].sub_(xi * wd * weights[i]);
      }
    }
    const double v = ce(net, val, alpha);
    torch::NoGradGuard guard;
    for (size_t i = 0; i < weights.size(); ++i) weights[i].copy_(saved[i]);
    return v;
  };
  const auto alpha0 = darts.alpha().detach().clone();
  const double scale = grad.abs().max().item<double>();
  ASSERT_GT(scale, 1e-6);
  const double eps = 1e-6;
  core::Rng pick(5);
  for (int t = 0; t < 24; ++t) {
    const int64_t r = pick.uniform_int(alpha0.size(0));
    const int64_t c = pick.uniform_int(alpha0.size(1));
    auto plus = alpha0.clone(), minus = alpha0.clone();
    plus[r][c] += eps;
    minus[r][c] -= eps;
    const double fd = (F(plus) - F(minus)) / (2 * eps);
    EXPECT_NEAR(grad[r][c].item<double>(), fd, 1e-4 * scale)
        << "alpha[" << r << "][" << c << "]";
  }
}

TEST(Darts, FirstOrderGradientIsValidationLossGradient) {
  torch::manual_seed(4);
  Fixture f(std::make_unique<search_space::DartsSpace>(
                search_space::DartsSpace::default_options()),
            tiny_darts(), 10, torch::kFloat64);
  Darts darts(options({{"order", 1}, {"alpha_init_std", 0.5}}));
  darts.attach(f.ctx);
  darts.new_epoch(0);
  const auto train = random_batch(4, 1), val = random_batch(4, 2);
  StepStats stats;
  const auto grad = darts.alpha_gradient(train, val, stats);
  const auto alpha0 = darts.alpha().detach().clone();
  const double eps = 1e-6;
  for (int64_t r : {0, 5, 20}) {
    for (int64_t c : {1, 4, 7}) {
      auto plus = alpha0.clone(), minus = alpha0.clone();
      plus[r][c] += eps;
      minus[r][c] -= eps;
      const double fd = (ce(*f.ctx.supernet, val, plus) -
                         ce(*f.ctx.supernet, val, minus)) / (2 * eps);
      EXPECT_NEAR(grad[r][c].item<double>(), fd, 1e-6);
    }
  }
}

TEST(Darts, RejectsBadOrder) {
  EXPECT_THROW(Darts(options({{"order", 3}})), ConfigError);
}

TEST(Darts, CosineScheduleFollowsReference) {
  Fixture f(std::make_unique<testing::ToySpace>(1, 3), {}, 4);
  Darts darts(options({}));
  darts.attach(f.ctx);
  darts.new_epoch(0);
  EXPECT_NEAR(darts.state()["lr"].get<double>(),
              0.001 + 0.024 * (1 + std::cos(M_PI / 4)) / 2, 1e-12);
  darts.new_epoch(3);
  EXPECT_NEAR(darts.state()["lr"].get<double>(), 0.001, 1e-12);
}

}  // namespace
}  // namespace nas::strategies
