# Timing driver for ProxylessNAS's reference supernet (mit-han-lab/proxylessnas
# `search/`) on the CPU: its SuperProxylessNASNets, MixedEdge binarize /
# unused_modules_off and its weight step as nas_manager.py's train loop runs it
# (reset_binary_gates, forward, label-smoothed CE, zero_grad, backward, SGD
# step). Only what naskit's small-input adaptation needs is changed, from the
# outside: a 1-channel stem at stride 1 and the first stride-2 stage at
# stride 1 (28x28 inputs, 8x downsampling). Nothing of the reference is edited.
#
# Usage: /usr/bin/python3 bench_proxyless.py --ref DIR_OF_search --threads N
#        [--width 0.25 --batch 32 --hw 28 --warmup 1 --iters 9 --arch_every 0]
import argparse, json, os, resource, sys, time
p = argparse.ArgumentParser()
p.add_argument('--ref', required=True); p.add_argument('--threads', type=int, required=True)
p.add_argument('--width', type=float, default=0.25); p.add_argument('--batch', type=int, default=32)
p.add_argument('--hw', type=int, default=28); p.add_argument('--warmup', type=int, default=1)
p.add_argument('--iters', type=int, default=9); p.add_argument('--seed', type=int, default=0)
p.add_argument('--arch_every', type=int, default=0, help='0: weight steps only')
a = p.parse_args()
os.environ['OMP_NUM_THREADS'] = str(a.threads); os.environ['OPENBLAS_NUM_THREADS'] = str(a.threads)
sys.path.insert(0, a.ref)
import torch, torch.nn as nn
torch.set_num_threads(a.threads)
from models.super_nets.super_proxyless import SuperProxylessNASNets
from modules.mix_op import MixedEdge
from utils import cross_entropy_with_label_smoothing

torch.manual_seed(a.seed)
# imagenet_arch_search.py defaults: widths 24,40,80,96,192,320, blocks 4,4,4,4,4,1,
# the six MBConv candidates, bn (0.1, 1e-3); strides 2,2,2,1,2,1 with the first at 1.
net = SuperProxylessNASNets(
    width_stages=[24, 40, 80, 96, 192, 320], n_cell_stages=[4, 4, 4, 4, 4, 1],
    conv_candidates=['3x3_MBConv3', '3x3_MBConv6', '5x5_MBConv3', '5x5_MBConv6',
                     '7x7_MBConv3', '7x7_MBConv6'],
    stride_stages=[1, 2, 2, 1, 2, 1], n_classes=10, width_mult=a.width)
stem = net.first_conv.conv
net.first_conv.conv = nn.Conv2d(1, stem.out_channels, 3, 1, 1, bias=False)
# As nas_manager.py / run_manager.py initialise them (the alphas are
# uninitialised memory until then).
net.init_arch_params('normal', 1e-3)
net.init_model('he_fout')
weights = [p for n, p in net.named_parameters() if 'AP_path' not in n]
alphas = [p for n, p in net.named_parameters() if 'AP_path_alpha' in n]
opt = torch.optim.SGD(weights, 0.025, momentum=0.9, weight_decay=4e-5, nesterov=True)
arch_opt = torch.optim.Adam(alphas, 1e-3, betas=(0, 0.999), eps=1e-8)
x = torch.randn(a.batch, 1, a.hw, a.hw); y = torch.randint(0, 10, (a.batch,))
xv = torch.randn(a.batch, 1, a.hw, a.hw); yv = torch.randint(0, 10, (a.batch,))

def weight_step():
    net.train()
    net.reset_binary_gates(); net.unused_modules_off()
    loss = cross_entropy_with_label_smoothing(net(x), y, 0.1)
    net.zero_grad(); loss.backward(); opt.step()
    net.unused_modules_back()

def arch_step():  # nas_manager.gradient_step, full_v2, no latency term
    net.train(); MixedEdge.MODE = 'full_v2'
    net.reset_binary_gates(); net.unused_modules_off()
    loss = nn.functional.cross_entropy(net(xv), yv)
    net.zero_grad(); loss.backward(); net.set_arch_param_grad(); arch_opt.step()
    net.unused_modules_back(); MixedEdge.MODE = None

def step(i):
    t0 = time.perf_counter()
    weight_step()
    if a.arch_every > 0 and (i + 1) % a.arch_every == 0:
        arch_step()
    return (time.perf_counter() - t0) * 1e3

first = [step(i) for i in range(a.warmup)]
timed = [step(a.warmup + i) for i in range(a.iters)]
print(json.dumps({'first_warmup_ms': first[0], 'all_ms': first[1:] + timed,
                  'peak_rss_MiB': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
