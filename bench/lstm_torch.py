"""AWD-LSTM training throughput in PyTorch: the baseline of `cargo xtask bench lstm`.

The same model and step as the Rust `lstm` crate (lstm/src/model.rs, lstm/src/train.rs):
embedding with word dropout, locked dropouts, weight-drop (a fresh dropout of each w_hh passed
to the ATen `lstm` kernel every forward, as AWD-LSTM's WeightDrop), tied decoder, AR 2 / TAR 1,
global-norm clip 0.25, Adam (coupled wd 1.2e-6, eps 1e-12). Fixed windows of --bptt x --batch
tokens from the same formula; --warmup untimed windows, then --windows timed ones.
Prints one JSON line.
"""

import argparse
import json
import math
import time

import torch
from torch import nn


def locked_dropout(x, p, train):
    if not train or p == 0.0:
        return x
    mask = x.new_empty(1, x.size(1), x.size(2)).bernoulli_(1 - p) / (1 - p)
    return x * mask


class AwdLstm(nn.Module):
    def __init__(self, vocab, emb, hidden, layers, dropout=0.4, dropouth=0.25, dropouti=0.4,
                 dropoute=0.1, wdrop=0.5):
        super().__init__()
        self.encoder = nn.Parameter(torch.empty(vocab, emb).uniform_(-0.1, 0.1))
        self.layers = nn.ParameterList()
        self.sizes = []
        for l in range(layers):
            i = emb if l == 0 else hidden
            o = emb if l == layers - 1 else hidden
            k = 1 / math.sqrt(o)
            for shape in ((4 * o, i), (4 * o, o), (4 * o,), (4 * o,)):
                self.layers.append(nn.Parameter(torch.empty(shape).uniform_(-k, k)))
            self.sizes.append(o)
        self.decoder_bias = nn.Parameter(torch.zeros(vocab))
        self.p = dict(dropout=dropout, dropouth=dropouth, dropouti=dropouti, dropoute=dropoute, wdrop=wdrop)

    def init_hidden(self, batch, device):
        return [(torch.zeros(1, batch, s, device=device), torch.zeros(1, batch, s, device=device))
                for s in self.sizes]

    def forward(self, tokens, hidden):
        p, train = self.p, self.training
        weight = self.encoder
        if train and p["dropoute"] > 0:
            keep = 1 - p["dropoute"]
            weight = weight * (weight.new_empty(weight.size(0), 1).bernoulli_(keep) / keep)
        x = locked_dropout(nn.functional.embedding(tokens, weight), p["dropouti"], train)
        new_hidden = []
        n = len(self.sizes)
        for l in range(n):
            w_ih, w_hh, b_ih, b_hh = self.layers[4 * l: 4 * l + 4]
            if train and p["wdrop"] > 0:
                w_hh = nn.functional.dropout(w_hh, p["wdrop"], True)
            out, h, c = torch._VF.lstm(x, hidden[l], [w_ih, w_hh, b_ih, b_hh], True, 1, 0.0, train,
                                       False, False)
            new_hidden.append((h, c))
            x = locked_dropout(out, p["dropouth"], train) if l + 1 < n else out
        raw = x
        dropped = locked_dropout(raw, p["dropout"], train)
        logits = nn.functional.linear(dropped.reshape(-1, dropped.size(2)), self.encoder, self.decoder_bias)
        return logits, new_hidden, raw, dropped


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--vocab", type=int, default=10000)
    parser.add_argument("--emb", type=int, default=400)
    parser.add_argument("--hidden", type=int, default=1150)
    parser.add_argument("--layers", type=int, default=1)
    parser.add_argument("--bptt", type=int, default=70)
    parser.add_argument("--batch", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--windows", type=int, default=5)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    device = torch.device(args.device)
    model = AwdLstm(args.vocab, args.emb, args.hidden, args.layers).to(device)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-12, weight_decay=1.2e-6)
    total = (args.warmup + args.windows) * args.bptt * args.batch + args.batch
    ids = torch.tensor([(i * 7919 + i // 13) % args.vocab for i in range(total)], dtype=torch.long)
    steps = total // args.batch
    data = ids[: steps * args.batch].view(args.batch, steps).t().contiguous().to(device)
    hidden = model.init_hidden(args.batch, device)
    params = list(model.parameters())

    def window(w, hidden):
        x = data[w * args.bptt: w * args.bptt + args.bptt]
        y = data[w * args.bptt + 1: w * args.bptt + 1 + args.bptt]
        hidden = [(h.detach(), c.detach()) for h, c in hidden]
        opt.zero_grad()
        logits, hidden, raw, dropped = model(x, hidden)
        loss = nn.functional.cross_entropy(logits, y.reshape(-1))
        loss = loss + 2.0 * dropped.pow(2).mean() + 1.0 * (raw[1:] - raw[:-1]).pow(2).mean()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 0.25)
        opt.step()
        return hidden

    for w in range(args.warmup):
        hidden = window(w, hidden)
    if device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for w in range(args.warmup, args.warmup + args.windows):
        hidden = window(w, hidden)
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - t0
    tokens = args.windows * args.bptt * args.batch
    print(json.dumps({
        "backend": "pytorch",
        "torch": torch.__version__,
        "layers": args.layers,
        "tokens_per_s": tokens / seconds,
        "seconds_per_window": seconds / args.windows,
        "windows": args.windows,
        "tokens_per_window": args.bptt * args.batch,
    }), flush=True)


if __name__ == "__main__":
    main()
