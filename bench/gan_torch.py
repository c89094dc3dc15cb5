"""PyTorch baseline of `cargo xtask bench gan`: the same DCGAN generator/critic, WGAN(-GP)
iteration and TorchScript FID Inception as `gan bench` (crate `gan`), timed the same way.

One iteration = one critic step (fake = G(z) detached; loss mean D(fake) - mean D(real) plus,
for WGAN-GP, 10 * gradient penalty via autograd.grad(create_graph=True); WGAN clips the critic
to [-0.01, 0.01]) and one generator step (critic frozen). Adam lr 2e-4, betas (0.5, 0.999) on
both networks (the registry's wgan/wgan-gp Adam presets). Inception input: 0..255 pixels,
bilinear resize to 299 (align_corners=False), x / 128 - 1. Each training iteration and each
Inception batch is timed on its own and the rates come from the median time, as in `gan bench`.
Prints one JSON line.
"""
import argparse
import json
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def generator(z_dim, base, channels, size):
    blocks = size.bit_length() - 1 - 2
    width = base << (blocks - 1)
    layers = [nn.ConvTranspose2d(z_dim, width, 4, 1, 0, bias=False), nn.BatchNorm2d(width), nn.ReLU(True)]
    for _ in range(1, blocks):
        layers += [nn.ConvTranspose2d(width, width // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(width // 2), nn.ReLU(True)]
        width //= 2
    layers += [nn.ConvTranspose2d(width, channels, 4, 2, 1, bias=False), nn.Tanh()]
    return nn.Sequential(*layers)


def critic(base, channels, size, batch_norm):
    blocks = size.bit_length() - 1 - 2
    layers, c_in, width = [], channels, base
    for b in range(blocks):
        norm = b > 0 and batch_norm
        layers.append(nn.Conv2d(c_in, width, 4, 2, 1, bias=not norm))
        if norm:
            layers.append(nn.BatchNorm2d(width))
        layers.append(nn.LeakyReLU(0.2))
        c_in, width = width, width * 2
    layers.append(nn.Conv2d(c_in, 1, 4, 1, 0))
    return nn.Sequential(*layers)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", default="wgan-gp")
    p.add_argument("--image-size", type=int, default=64)
    p.add_argument("--base", type=int, default=64)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--iters", type=int, default=10)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--fid-images", type=int, default=100)
    p.add_argument("--fid-batch", type=int, default=50)
    p.add_argument("--inception", default="data/fid-inception/default_1.pt")
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--device", default="cpu")
    a = p.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    dev = torch.device(a.device)
    torch.manual_seed(0)
    gp = a.model == "wgan-gp"
    G = generator(100, a.base, 3, a.image_size).to(dev)
    D = critic(a.base, 3, a.image_size, not gp).to(dev)
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    real = torch.rand(a.batch, 3, a.image_size, a.image_size, device=dev) * 2 - 1

    def iteration():
        z = torch.randn(a.batch, 100, device=dev)
        with torch.no_grad():
            fake = G(z.view(-1, 100, 1, 1))
        opt_d.zero_grad()
        loss = D(fake).mean() - D(real).mean()
        if gp:
            e = torch.rand(a.batch, 1, 1, 1, device=dev)
            x = (real * e + fake * (1 - e)).requires_grad_(True)
            (g,) = torch.autograd.grad(D(x).sum(), x, create_graph=True)
            loss = loss + 10 * ((g.flatten(1).norm(2, dim=1) - 1) ** 2).mean()
        loss.backward()
        opt_d.step()
        if not gp:
            with torch.no_grad():
                for w in D.parameters():
                    w.clamp_(-0.01, 0.01)
        for w in D.parameters():
            w.requires_grad_(False)
        opt_g.zero_grad()
        (-D(G(z.view(-1, 100, 1, 1))).mean()).backward()
        opt_g.step()
        for w in D.parameters():
            w.requires_grad_(True)

    def sync():
        if dev.type == "cuda":
            torch.cuda.synchronize()

    for _ in range(a.warmup):
        iteration()

    def timed(work):
        sync()
        t = time.perf_counter()
        work()
        sync()
        return time.perf_counter() - t

    iteration_s = [timed(iteration) for _ in range(max(a.iters, 1))]
    record = {
        "side": "pytorch",
        "model": a.model,
        "optimizer": "adam",
        "image_size": a.image_size,
        "batch": a.batch,
        "threads": torch.get_num_threads(),
        "device": a.device,
        "iters": len(iteration_s),
        "train_images_per_s": a.batch / statistics.median(iteration_s),
    }
    if a.fid_images > 0:
        net = torch.jit.load(a.inception, map_location=dev).eval()
        x = torch.rand(a.fid_batch, 3, 32, 32, device=dev) * 255

        def features():
            with torch.no_grad():
                y = F.interpolate(x.clamp(0, 255), size=(299, 299), mode="bilinear", align_corners=False)
                return net(y / 128 - 1)

        features()
        batch_s = [timed(features) for _ in range(max(1, -(-a.fid_images // a.fid_batch)))]
        record["fid_images_per_s"] = a.fid_batch / statistics.median(batch_s)
    print(json.dumps(record))


if __name__ == "__main__":
    main()
