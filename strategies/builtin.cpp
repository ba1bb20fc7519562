#include "strategies/arch_list.h"
#include "strategies/asap.h"
#include "strategies/darts.h"
#include "strategies/darts_prime.h"
#include "strategies/enas.h"
#include "strategies/evolution.h"
#include "strategies/fbnet.h"
#include "strategies/gdas.h"
#include "strategies/proxyless.h"
#include "strategies/fairnas.h"
#include "strategies/random_search.h"
#include "strategies/random_ws.h"
#include "strategies/reinforce.h"
#include "strategies/sharp_darts.h"
#include "strategies/single_path.h"
#include "strategies/snas.h"
#include "strategies/strategy.h"
#include "strategies/trial_strategy.h"

namespace nas::strategies {

namespace {
template <class S, class Base = SearchStrategy>
typename core::Registry<Base>::Factory factory() {
  return [](const nlohmann::json& o) { return std::make_unique<S>(o); };
}
}  // namespace

void register_builtin_strategies(StrategyRegistry& r) {
  r.add("darts",
        "DARTS (Liu et al., ICLR 2019): softmax mixture of all ops, alpha "
        "step on validation data then weight step; order 1 or 2",
        Darts::options_table().schema(), factory<Darts>());
  r.add("sharp_darts",
        "sharpDARTS (Hundt et al., 2019): DARTS with MaxW weighting (1 - max w + w) and "
        "Cosine Power Annealing of the learning rate",
        SharpDarts::options_table().schema(), factory<SharpDarts>());
  r.add("asap",
        "ASAP (Noy et al., AISTATS 2020): DARTS's step on softmax(alpha / tau) with tau "
        "annealed per epoch; ops whose weight falls below a threshold are pruned for good",
        Asap::options_table().schema(), factory<Asap>());
  r.add("darts_prime",
        "DARTS-PRIME (Maile et al., 2021): DARTS with alpha steps on a dynamic schedule "
        "informed by the weights' gradient energy, and proximity (or ADMM) regularization "
        "toward the discrete architecture; optional per-edge CRB activation",
        DartsPrime::options_table().schema(), factory<DartsPrime>());
  r.add("snas",
        "SNAS (Xie et al., ICLR 2019): relaxed Gumbel-softmax samples of all "
        "ops, single-level update, optional resource penalty",
        Snas::options_table().schema(), factory<Snas>());
  r.add("gdas",
        "GDAS (Dong & Yang, CVPR 2019): one hard Gumbel sample per edge, "
        "straight-through gradient, only the sampled op runs",
        Gdas::options_table().schema(), factory<Gdas>());
  r.add("fbnet",
        "FBNet (Wu et al., CVPR 2019): Gumbel-softmax mask over all ops with annealed "
        "temperature, theta on a held-out split, loss CE * a * log(LAT)^b",
        Fbnet::options_table().schema(), factory<Fbnet>());
  r.add("single_path",
        "Single-Path NAS (Stamoulis et al., 2019): one superkernel per block, trainable "
        "thresholds on weight norms choose kernel and expansion, loss CE + l * log(LAT)",
        SinglePath::options_table().schema(), factory<SinglePath>());
  r.add("enas",
        "ENAS (Pham et al., ICML 2018): an LSTM controller samples one path per step for "
        "the weights, and learns by REINFORCE from validation accuracy after each epoch",
        Enas::options_table().schema(), factory<Enas>());
  r.add("proxyless",
        "ProxylessNAS (Cai et al., ICLR 2019): binary gates, single-path "
        "weight steps, two-path alpha steps",
        Proxyless::options_table().schema(), factory<Proxyless>());
  r.add("fairnas",
        "FairNAS strict fairness (Chu et al., ICCV 2021): every candidate "
        "trained exactly once per step; selection by supernet scores",
        FairNas::options_table().schema(), factory<FairNas>());
  r.add("random_ws",
        "random search with weight sharing (Li & Talwalkar, UAI 2019): one "
        "uniform architecture per minibatch, selection by supernet scores",
        RandomWs::options_table().schema(), factory<RandomWs>());
}

void register_builtin_trial_strategies(TrialStrategyRegistry& r) {
  r.add("random",
        "random search without weight sharing: uniform architectures, each estimated on "
        "its own (--estimator), no duplicates",
        RandomSearch::options_table().schema(), factory<RandomSearch, TrialStrategy>());
  r.add("evolution",
        "regularized (aging) evolution (Real et al., AAAI 2019): tournament of S from a "
        "population of P, one mutation per child, the oldest leaves",
        Evolution::options_table().schema(), factory<Evolution, TrialStrategy>());
  r.add("reinforce",
        "REINFORCE (AutoDL's NAS-Bench-201 baseline): a softmax policy per decision (or ENAS's "
        "LSTM controller) learns from each estimate against a moving-average baseline",
        ReinforceTrials::options_table().schema(), factory<ReinforceTrials, TrialStrategy>());
  r.add("list",
        "the architectures of a file (option file), in order: evaluate or rank a fixed set",
        ArchList::options_table().schema(), factory<ArchList, TrialStrategy>());
}

}  // namespace nas::strategies
