//! Layer constructors with PyTorch's defaults (tch's differ: its batch norm starts γ uniform in
//! [0, 1], its convolutions start b = 0 and use the ReLU gain for weights).

use tch::nn::{self, init::FanInOut, init::NonLinearity, init::NormalOrUniform, Init};

/// How a convolution's weights start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ConvInit {
    /// `nn.Conv2d`'s own `reset_parameters`: Kaiming uniform with a = √5, i.e. U(±1/√fan_in).
    PyTorch,
    /// torchvision's ResNet: `kaiming_normal_(mode="fan_out", nonlinearity="relu")`,
    /// i.e. N(0, 2/fan_out).
    KaimingNormalFanOut,
}

/// U(±1/√fan_in) for a weight: Kaiming uniform with gain √(2/(1+a²)) = 1/√3 at a = √5.
const PYTORCH_DEFAULT: Init = Init::Kaiming {
    dist: NormalOrUniform::Uniform,
    fan: FanInOut::FanIn,
    non_linearity: NonLinearity::ExplicitGain(0.577_350_269_189_625_8),
};

/// A `k`×`k` convolution `c_in` → `c_out` with the given stride and zero padding; a bias only if
/// `bias`, drawn like PyTorch's from U(±1/√fan_in).
#[allow(clippy::too_many_arguments)]
pub(crate) fn conv(
    p: nn::Path<'_>,
    c_in: i64,
    c_out: i64,
    k: i64,
    stride: i64,
    padding: i64,
    bias: bool,
    init: ConvInit,
) -> nn::Conv2D {
    let bound = 1.0 / ((c_in * k * k) as f64).sqrt();
    let ws_init = match init {
        ConvInit::PyTorch => PYTORCH_DEFAULT,
        ConvInit::KaimingNormalFanOut => Init::Kaiming {
            dist: NormalOrUniform::Normal,
            fan: FanInOut::FanOut,
            non_linearity: NonLinearity::ReLU,
        },
    };
    let config = nn::ConvConfig {
        stride,
        padding,
        bias,
        ws_init,
        bs_init: Init::Uniform {
            lo: -bound,
            up: bound,
        },
        ..Default::default()
    };
    nn::conv2d(p, c_in, c_out, k, config)
}

/// `nn.BatchNorm2d(c)` with PyTorch's defaults: γ = 1, β = 0, momentum 0.1, ε = 1e-5; running
/// mean 0 and variance 1 (buffers, not trained). In train mode a forward normalizes with the
/// batch statistics and moves the running ones (variance unbiased); in eval mode it uses the
/// running ones and changes nothing.
pub fn batch_norm(p: nn::Path<'_>, c: i64) -> nn::BatchNorm {
    let config = nn::BatchNormConfig {
        momentum: 0.1,
        eps: 1e-5,
        ws_init: Init::Const(1.0),
        bs_init: Init::Const(0.0),
        ..Default::default()
    };
    nn::batch_norm2d(p, c, config)
}

/// `nn.Linear(inputs, outputs)` with PyTorch's initialization: weight and bias U(±1/√inputs).
pub(crate) fn linear(p: nn::Path<'_>, inputs: i64, outputs: i64) -> nn::Linear {
    let bound = 1.0 / (inputs as f64).sqrt();
    let config = nn::LinearConfig {
        ws_init: PYTORCH_DEFAULT,
        bs_init: Some(Init::Uniform {
            lo: -bound,
            up: bound,
        }),
        bias: true,
    };
    nn::linear(p, inputs, outputs, config)
}
