//! NIID-Bench's models: the simple CNN (conv → fc 120-84-10) for the image datasets and the MLP
//! 123-32-16-8-2 for a9a.

use datasets::DatasetName;
use tch::nn::{self, Module, ModuleT};
use tch::Tensor;

/// NIID-Bench's `SimpleCNN` / `SimpleCNNMNIST`: conv(C→6, 5) → ReLU → max-pool 2 →
/// conv(6→16, 5) → ReLU → max-pool 2 → fc(→120) → ReLU → fc(120→84) → ReLU → fc(84→10).
/// The first fc takes 16·5·5 inputs for 32×32 images, 16·4·4 for 28×28.
#[derive(Debug)]
pub struct SimpleCnn {
    conv1: nn::Conv2D,
    conv2: nn::Conv2D,
    fc1: nn::Linear,
    fc2: nn::Linear,
    fc3: nn::Linear,
}

impl SimpleCnn {
    /// The layers under `root` for `channels`-channel images of `side` × `side` pixels.
    pub fn new(root: &nn::Path<'_>, channels: i64, side: i64, classes: i64) -> Self {
        let after = ((side - 4) / 2 - 4) / 2;
        SimpleCnn {
            conv1: nn::conv2d(root / "conv1", channels, 6, 5, Default::default()),
            conv2: nn::conv2d(root / "conv2", 6, 16, 5, Default::default()),
            fc1: nn::linear(root / "fc1", 16 * after * after, 120, Default::default()),
            fc2: nn::linear(root / "fc2", 120, 84, Default::default()),
            fc3: nn::linear(root / "fc3", 84, classes, Default::default()),
        }
    }
}

impl ModuleT for SimpleCnn {
    fn forward_t(&self, x: &Tensor, _train: bool) -> Tensor {
        x.apply(&self.conv1)
            .relu()
            .max_pool2d_default(2)
            .apply(&self.conv2)
            .relu()
            .max_pool2d_default(2)
            .flatten(1, -1)
            .apply(&self.fc1)
            .relu()
            .apply(&self.fc2)
            .relu()
            .apply(&self.fc3)
    }
}

/// NIID-Bench's `FcNet` for a9a: fc(123→32) → ReLU → fc(32→16) → ReLU → fc(16→8) → ReLU →
/// fc(8→2), no dropout.
#[derive(Debug)]
pub struct Mlp {
    layers: Vec<nn::Linear>,
}

impl Mlp {
    /// The layers under `root` (`fc0` … `fc3`) for widths `inputs`, 32, 16, 8, `classes`.
    pub fn new(root: &nn::Path<'_>, inputs: i64, classes: i64) -> Self {
        let widths = [inputs, 32, 16, 8, classes];
        let layers = widths
            .windows(2)
            .enumerate()
            .map(|(i, w)| nn::linear(root / format!("fc{i}"), w[0], w[1], Default::default()))
            .collect();
        Mlp { layers }
    }
}

impl ModuleT for Mlp {
    fn forward_t(&self, x: &Tensor, _train: bool) -> Tensor {
        let last = self.layers.len() - 1;
        self.layers
            .iter()
            .enumerate()
            .fold(x.shallow_clone(), |h, (i, layer)| {
                let h = layer.forward(&h);
                if i == last {
                    h
                } else {
                    h.relu()
                }
            })
    }
}

/// The model of a dataset ([`for_dataset`]): one type, so the training loop is one.
#[derive(Debug)]
pub enum Net {
    /// The simple CNN of the image datasets.
    Cnn(Box<SimpleCnn>),
    /// The MLP of a9a.
    Mlp(Mlp),
}

impl ModuleT for Net {
    fn forward_t(&self, x: &Tensor, train: bool) -> Tensor {
        match self {
            Net::Cnn(net) => net.forward_t(x, train),
            Net::Mlp(net) => net.forward_t(x, train),
        }
    }
}

/// NIID-Bench's model of dataset `name` with `classes` outputs, under `root`.
pub fn for_dataset(root: &nn::Path<'_>, name: DatasetName, classes: usize) -> Net {
    let classes = classes as i64;
    match name {
        DatasetName::Mnist | DatasetName::Fmnist => Net::Cnn(Box::new(SimpleCnn::new(root, 1, 28, classes))),
        DatasetName::Cifar10 => Net::Cnn(Box::new(SimpleCnn::new(root, 3, 32, classes))),
        DatasetName::A9a => Net::Mlp(Mlp::new(root, 123, classes)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    fn parameters(vs: &nn::VarStore) -> i64 {
        vs.trainable_variables().iter().map(Tensor::numel).sum::<usize>() as i64
    }

    /// Parameter counts of NIID-Bench's models (torch's `sum(p.numel())`).
    #[test]
    fn shapes_and_parameter_counts_match_niid_bench() {
        for (name, input, count) in [
            (DatasetName::Mnist, vec![2, 1, 28, 28], 44_426),
            (DatasetName::Cifar10, vec![2, 3, 32, 32], 62_006),
            (DatasetName::A9a, vec![2, 123], 4_650),
        ] {
            let vs = nn::VarStore::new(Device::Cpu);
            let classes = if name == DatasetName::A9a { 2 } else { 10 };
            let net = for_dataset(&vs.root(), name, classes);
            let out = net.forward_t(
                &Tensor::zeros(input.as_slice(), (Kind::Float, Device::Cpu)),
                false,
            );
            assert_eq!(out.size(), [2, classes as i64]);
            assert_eq!(parameters(&vs), count, "{name}");
        }
    }
}
