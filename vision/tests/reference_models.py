"""Reference numbers for vision/tests/models.rs, from the PyTorch definitions.

Run (from the repository root, with the venv of `cargo xtask env`):

    $PISA_PYTHON vision/tests/reference_models.py > vision/tests/reference_models.json

The architectures are written here from their published definitions, the same way the Rust
crate is: `pytorch-cifar` (github.com/kuangliu/pytorch-cifar: models/vgg.py, resnet.py,
densenet.py), which AdaBelief's CIFAR code uses, and torchvision's `resnet18` (used instead of
torchvision itself when torchvision is absent; the parameter count 11,689,512 is torchvision's).

For each model the JSON holds: the trainable parameter count; every state_dict tensor (name,
shape; without BatchNorm's `num_batches_tracked`, which tch does not keep); and, with all
tensors set by the deterministic rule of `fill` and the input of `input_batch`, the logits in
eval mode (float32) and in train mode (float64, see `main`), and the first batch norm's
running statistics after that one train-mode forward.
"""

import json
import math
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

# ---- pytorch-cifar's definitions --------------------------------------------------------------

VGG11 = [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"]


class Vgg(nn.Module):
    def __init__(self, cfg, classes):
        super().__init__()
        layers, c_in = [], 3
        for item in cfg:
            if item == "M":
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            else:
                layers += [nn.Conv2d(c_in, item, kernel_size=3, padding=1), nn.BatchNorm2d(item),
                           nn.ReLU(inplace=True)]
                c_in = item
        layers.append(nn.AvgPool2d(kernel_size=1, stride=1))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(512, classes)

    def forward(self, x):
        return self.classifier(self.features(x).flatten(1))


class CifarBasicBlock(nn.Module):
    def __init__(self, c_in, c_out, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut = nn.Sequential()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False),
                                          nn.BatchNorm2d(c_out))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class CifarResNet(nn.Module):
    def __init__(self, blocks, classes):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        c_in = 64
        for stage, (n, c_out) in enumerate(zip(blocks, [64, 128, 256, 512])):
            layers = []
            for i in range(n):
                layers.append(CifarBasicBlock(c_in, c_out, 2 if stage > 0 and i == 0 else 1))
                c_in = c_out
            setattr(self, f"layer{stage + 1}", nn.Sequential(*layers))
        self.linear = nn.Linear(512, classes)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layer4(self.layer3(self.layer2(self.layer1(out))))
        return self.linear(F.avg_pool2d(out, 4).flatten(1))


class Bottleneck(nn.Module):
    def __init__(self, c_in, growth):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(c_in)
        self.conv1 = nn.Conv2d(c_in, 4 * growth, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(4 * growth)
        self.conv2 = nn.Conv2d(4 * growth, growth, 3, padding=1, bias=False)

    def forward(self, x):
        out = self.conv1(F.relu(self.bn1(x)))
        out = self.conv2(F.relu(self.bn2(out)))
        return torch.cat([out, x], 1)


class Transition(nn.Module):
    def __init__(self, c_in, c_out):
        super().__init__()
        self.bn = nn.BatchNorm2d(c_in)
        self.conv = nn.Conv2d(c_in, c_out, 1, bias=False)

    def forward(self, x):
        return F.avg_pool2d(self.conv(F.relu(self.bn(x))), 2)


class DenseNet(nn.Module):
    def __init__(self, blocks, classes, growth=32, reduction=0.5):
        super().__init__()
        c = 2 * growth
        self.conv1 = nn.Conv2d(3, c, 3, padding=1, bias=False)
        for stage, n in enumerate(blocks):
            layers = []
            for _ in range(n):
                layers.append(Bottleneck(c, growth))
                c += growth
            setattr(self, f"dense{stage + 1}", nn.Sequential(*layers))
            if stage + 1 < len(blocks):
                c_out = int(math.floor(c * reduction))
                setattr(self, f"trans{stage + 1}", Transition(c, c_out))
                c = c_out
        self.bn = nn.BatchNorm2d(c)
        self.linear = nn.Linear(c, classes)

    def forward(self, x):
        out = self.conv1(x)
        out = self.trans1(self.dense1(out))
        out = self.trans2(self.dense2(out))
        out = self.trans3(self.dense3(out))
        out = self.dense4(out)
        out = F.avg_pool2d(F.relu(self.bn(out)), 4)
        return self.linear(out.flatten(1))


# ---- torchvision's resnet18 ---------------------------------------------------------------------

class ImageNetBasicBlock(nn.Module):
    def __init__(self, c_in, c_out, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.downsample = None
        if stride != 1 or c_in != c_out:
            self.downsample = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False),
                                            nn.BatchNorm2d(c_out))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class ImageNetResNet(nn.Module):
    def __init__(self, blocks, classes):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        c_in = 64
        for stage, (n, c_out) in enumerate(zip(blocks, [64, 128, 256, 512])):
            layers = []
            for i in range(n):
                layers.append(ImageNetBasicBlock(c_in, c_out, 2 if stage > 0 and i == 0 else 1))
                c_in = c_out
            setattr(self, f"layer{stage + 1}", nn.Sequential(*layers))
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512, classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(self.avgpool(x).flatten(1))


def resnet18_imagenet(classes):
    try:
        import torchvision
        return torchvision.models.resnet18(num_classes=classes)
    except ImportError:
        return ImageNetResNet([2, 2, 2, 2], classes)


# name → (constructor, classes, input side, first batch norm)
MODELS = {
    "vgg11": (lambda c: Vgg(VGG11, c), 10, 32, "features.1"),
    "resnet18": (lambda c: CifarResNet([2, 2, 2, 2], c), 10, 32, "bn1"),
    "resnet34": (lambda c: CifarResNet([3, 4, 6, 3], c), 10, 32, "bn1"),
    "densenet121": (lambda c: DenseNet([6, 12, 24, 16], c), 10, 32, "dense1.0.bn1"),
    "resnet18-imagenet": (resnet18_imagenet, 1000, 64, "bn1"),
}


def pattern(n, j):
    """sin(0.37 k + 1.3 j), k = 0 … n-1, in float64 (tests/models.rs computes the same)."""
    return (torch.arange(n, dtype=torch.float64) * 0.37 + 1.3 * j).sin()


def fill(name, shape, j):
    """The deterministic value of the j-th tensor in sorted name order."""
    n = math.prod(shape)
    v = pattern(n, j)
    if name.endswith("running_var"):
        v = v * 0.5 + 1.0
    elif name.endswith("running_mean") or name.endswith("bias"):
        v = v * 0.1
    elif len(shape) == 1:  # batch-norm weight
        v = v * 0.1 + 1.0
    else:  # conv / linear weight
        v = v * (1.0 / math.sqrt(n // shape[0]))
    return v.to(torch.float32).reshape(shape)


def input_batch(side):
    return (torch.arange(2 * 3 * side * side, dtype=torch.float64) * 0.1).sin() \
        .to(torch.float32).reshape(2, 3, side, side)


def main():
    torch.manual_seed(0)
    out = {}
    for name, (make, classes, side, first_bn) in MODELS.items():
        model = make(classes)
        params = sum(p.numel() for p in model.parameters())
        state = {k: v for k, v in model.state_dict().items()
                 if not k.endswith("num_batches_tracked")}
        with torch.no_grad():
            for j, key in enumerate(sorted(state)):
                state[key].copy_(fill(key, list(state[key].shape), j))
            x = input_batch(side)
            model.eval()
            logits_eval = model(x)
            # Train mode in float64: batch norm over a batch of 2 is ill-conditioned (f32 and f64
            # train logits differ by up to 1.2 on resnet34), so f32 train logits depend on the
            # CPU's kernels; in f64 they are exact to far below the test's tolerance.
            model.double().train()
            logits_train = model(x.double())
        out[name] = {
            "classes": classes,
            "side": side,
            "parameters": params,
            "tensors": [[k, list(v.shape)] for k, v in state.items()],
            "logits_eval": logits_eval.flatten().tolist(),
            "logits_train": logits_train.flatten().tolist(),
            "first_bn": first_bn,
            # From the model, not `state`: .double() replaced the tensors `state` holds.
            "running_mean": model.state_dict()[first_bn + ".running_mean"].tolist(),
            "running_var": model.state_dict()[first_bn + ".running_var"].tolist(),
        }
        print(f"{name}: {params:,} parameters, {len(state)} tensors", file=sys.stderr)
    json.dump(out, sys.stdout, indent=None)
    print()


if __name__ == "__main__":
    main()
