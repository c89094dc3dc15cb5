//! Parameters held as views into one flat buffer.
//!
//! An optimizer step that walks parameters one tensor at a time pays one kernel launch (or one
//! dispatcher round trip on CPU) per tensor and per operation. [`ParamSet`] instead copies every
//! parameter of a group into one contiguous buffer and re-points each variable at a view of it
//! (`set_data`), the way apex and DeepSpeed flatten parameters. Gradients are re-pointed the same
//! way the first time they are read, so later backward passes accumulate straight into the flat
//! gradient buffer. An elementwise update is then a handful of large operations, or one fused
//! loop over contiguous memory (`kernels`).
//!
//! Build the optimizer after the model is on its final device and dtype: moving a `VarStore`
//! afterwards gives the variables fresh storage and detaches them from the flat buffer.

use crate::error::{Error, Result};
use tch::{Device, Kind, Tensor};

/// One trainable variable of a [`ParamSet`].
#[derive(Debug)]
pub struct ParamInfo {
    /// The variable's name in its `VarStore` (e.g. `layer1.weight`).
    pub name: String,
    /// The variable's shape.
    pub shape: Vec<i64>,
    /// Offset of its first element in the flat buffer.
    pub offset: usize,
    /// Number of elements.
    pub numel: usize,
}

/// A group of trainable variables sharing one dtype and device, stored as views into one flat
/// parameter buffer and one flat gradient buffer.
#[derive(Debug)]
pub struct ParamSet {
    infos: Vec<ParamInfo>,
    vars: Vec<Tensor>,
    flat: Tensor,
    flat_grad: Tensor,
    grad_views: Vec<Tensor>,
    kind: Kind,
    device: Device,
}

impl ParamSet {
    /// Flattens `vars` (name, variable) into one buffer. The variables keep their identity (the
    /// model still holds them) but now share storage with [`ParamSet::flat`].
    ///
    /// # Errors
    /// [`Error::NoParameters`] when `vars` is empty; [`Error::MixedParameters`] when the variables
    /// differ in dtype or device.
    pub fn new(vars: Vec<(String, Tensor)>) -> Result<Self> {
        let first = vars.first().ok_or(Error::NoParameters)?;
        let (kind, device) = (first.1.f_kind()?, first.1.device());
        let mut infos = Vec::with_capacity(vars.len());
        let mut offset = 0usize;
        for (name, var) in &vars {
            let (k, d) = (var.f_kind()?, var.device());
            if k != kind || d != device {
                return Err(Error::MixedParameters {
                    name: name.clone(),
                    found: format!("{k:?} on {d:?}"),
                    expected: format!("{kind:?} on {device:?}"),
                });
            }
            let numel = var.numel();
            infos.push(ParamInfo {
                name: name.clone(),
                shape: var.size(),
                offset,
                numel,
            });
            offset += numel;
        }
        let total = offset as i64;
        let flat = Tensor::f_zeros([total], (kind, device))?;
        let flat_grad = Tensor::f_zeros([total], (kind, device))?;
        let mut handles = Vec::with_capacity(vars.len());
        let mut grad_views = Vec::with_capacity(vars.len());
        tch::no_grad(|| -> Result<()> {
            for (info, (_, var)) in infos.iter().zip(vars) {
                let mut view = view_of(&flat, info)?;
                view.f_copy_(&var)?;
                let mut var = var;
                var.set_data(&view);
                handles.push(var);
                grad_views.push(view_of(&flat_grad, info)?);
            }
            Ok(())
        })?;
        Ok(ParamSet {
            infos,
            vars: handles,
            flat,
            flat_grad,
            grad_views,
            kind,
            device,
        })
    }

    /// The variables, in the order they were given.
    pub fn vars(&self) -> &[Tensor] {
        &self.vars
    }

    /// Name, shape and position of each variable.
    pub fn infos(&self) -> &[ParamInfo] {
        &self.infos
    }

    /// Total number of scalar parameters.
    pub fn numel(&self) -> usize {
        self.infos.last().map_or(0, |i| i.offset + i.numel)
    }

    /// Bytes taken by one parameter-sized buffer.
    pub fn buffer_bytes(&self) -> usize {
        self.numel() * self.kind.elt_size_in_bytes()
    }

    /// The flat parameter buffer (the global weights w). Writing into it changes the model.
    pub fn flat(&self) -> &Tensor {
        &self.flat
    }

    /// The dtype of every parameter.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The device of every parameter.
    pub fn device(&self) -> Device {
        self.device
    }

    /// A zero buffer shaped like the flat parameters (for optimizer state).
    pub fn zeros(&self) -> Result<Tensor> {
        Ok(Tensor::f_zeros([self.numel() as i64], (self.kind, self.device))?)
    }

    /// Views of a flat, parameter-shaped buffer, one per variable with its shape.
    pub fn views(&self, flat: &Tensor) -> Result<Vec<Tensor>> {
        self.infos.iter().map(|info| view_of(flat, info)).collect()
    }

    /// Zeroes every gradient.
    pub fn zero_grad(&mut self) -> Result<()> {
        for (var, view) in self.vars.iter().zip(&self.grad_views) {
            let mut grad = var.grad();
            if grad.defined() && !same_storage(&grad, view) {
                let _ = grad.detach_();
                let _ = grad.f_zero_()?;
            }
        }
        let _ = self.flat_grad.f_zero_()?;
        Ok(())
    }

    /// The gradients as one flat buffer. Gradients that live outside the buffer (the first
    /// backward pass, or a backward pass with `create_graph`) are copied in and re-pointed;
    /// a variable without gradient counts as zero.
    pub fn flat_grad(&mut self) -> Result<&Tensor> {
        tch::no_grad(|| -> Result<()> {
            for (var, view) in self.vars.iter().zip(self.grad_views.iter_mut()) {
                let mut grad = var.grad();
                if !grad.defined() {
                    let _ = view.f_zero_()?;
                } else if !same_storage(&grad, view) {
                    view.f_copy_(&grad.detach())?;
                    if !grad.requires_grad() {
                        grad.set_data(view);
                    }
                }
            }
            Ok(())
        })?;
        Ok(&self.flat_grad)
    }

    /// Copies `values` (a flat buffer) into the parameters.
    pub fn assign(&mut self, values: &Tensor) -> Result<()> {
        tch::no_grad(|| self.flat.f_copy_(values))?;
        Ok(())
    }

    /// Names of the variables (for messages and state keys).
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.infos.iter().map(|i| i.name.as_str())
    }
}

fn view_of(flat: &Tensor, info: &ParamInfo) -> Result<Tensor> {
    Ok(flat
        .f_narrow(0, info.offset as i64, info.numel as i64)?
        .f_view(info.shape.as_slice())?)
}

fn same_storage(a: &Tensor, b: &Tensor) -> bool {
    a.data_ptr() == b.data_ptr()
}

/// The trainable variables of a `VarStore`, sorted by name (a deterministic order).
pub fn trainable_named(vs: &tch::nn::VarStore) -> Vec<(String, Tensor)> {
    let mut vars: Vec<(String, Tensor)> = vs
        .variables()
        .into_iter()
        .filter(|(_, t)| t.requires_grad())
        .collect();
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    vars
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_become_views_and_gradients_land_in_the_flat_buffer() {
        let vs = tch::nn::VarStore::new(Device::Cpu);
        let a = vs.root().var("a", &[2, 3], tch::nn::Init::Const(1.0));
        let b = vs.root().var("b", &[4], tch::nn::Init::Const(2.0));
        let mut set = ParamSet::new(trainable_named(&vs)).unwrap();
        assert_eq!(set.numel(), 10);
        let expected: Vec<f32> = [vec![1.0; 6], vec![2.0; 4]].concat();
        assert_eq!(Vec::<f32>::try_from(set.flat()).unwrap(), expected);
        // Writing the flat buffer changes the model's variables.
        set.assign(&Tensor::arange(10, (Kind::Float, Device::Cpu)))
            .unwrap();
        assert_eq!(a.double_value(&[1, 2]), 5.0);
        assert_eq!(b.double_value(&[0]), 6.0);
        for round in 0..2 {
            set.zero_grad().unwrap();
            let loss = (&a * 3.0).sum(Kind::Float) + (&b * &b).sum(Kind::Float);
            loss.backward();
            let g = Vec::<f32>::try_from(set.flat_grad().unwrap()).unwrap();
            assert_eq!(
                g,
                vec![3., 3., 3., 3., 3., 3., 12., 14., 16., 18.],
                "round {round}"
            );
        }
        // After the first read the gradients are views: backward accumulates in place.
        assert_eq!(a.grad().data_ptr(), set.flat_grad.data_ptr());
    }

    #[test]
    fn mixed_dtypes_are_refused() {
        let vs = tch::nn::VarStore::new(Device::Cpu);
        let a = vs.root().var("a", &[2], tch::nn::Init::Const(1.0));
        let b = vs
            .root()
            .var("b", &[2], tch::nn::Init::Const(1.0))
            .to_kind(Kind::Double);
        let err = ParamSet::new(vec![("a".into(), a), ("b".into(), b)]).unwrap_err();
        assert!(matches!(err, Error::MixedParameters { .. }), "{err}");
    }
}
