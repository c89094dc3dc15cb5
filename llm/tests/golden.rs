//! Our GPT-2 against Hugging Face `transformers`' `GPT2LMHeadModel`.
//!
//! `tests/golden/make_gpt2_golden.py` (torch 2.11.0, transformers 4.57.1, run once through
//! `$PISA_PYTHON`) saved a tiny randomly initialised GPT-2 (vocab 101, context 16, width 32,
//! 2 layers, 4 heads, perturbed biases and LayerNorm gains) with `save_pretrained`, once as one
//! file and once sharded with the index, plus its eval-mode logits and loss on fixed ids.

use llm::{hf, Gpt2};
use std::path::{Path, PathBuf};
use tch::{nn::VarStore, Device, Kind, Tensor};

fn golden(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name)
}

fn expected() -> (Tensor, Tensor, f64) {
    let t: std::collections::HashMap<String, Tensor> =
        Tensor::read_safetensors(golden("tiny-gpt2-expected.safetensors"))
            .unwrap()
            .into_iter()
            .collect();
    (
        t["input_ids"].shallow_clone(),
        t["logits"].shallow_clone(),
        t["loss"].double_value(&[]),
    )
}

fn load(dir: &Path) -> (VarStore, Gpt2) {
    let cfg = hf::load_config(dir).unwrap();
    let mut vs = VarStore::new(Device::Cpu);
    let model = Gpt2::new(&vs.root(), &cfg).unwrap();
    hf::load_weights(dir, &mut vs, cfg.tie_word_embeddings).unwrap();
    (vs, model)
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f64 {
    (a - b).abs().max().double_value(&[])
}

#[test]
fn logits_equal_transformers_to_1e5() {
    let (ids, want, want_loss) = expected();
    for dir in ["tiny-gpt2", "tiny-gpt2-sharded"] {
        let (_vs, model) = load(&golden(dir));
        let logits = tch::no_grad(|| model.forward_t(&ids, false));
        assert_eq!(logits.size(), [2, 12, 101]);
        let diff = max_abs_diff(&logits, &want);
        eprintln!("{dir}: max |Δlogit| = {diff:e}");
        assert!(diff < 1e-5, "{dir}: max |Δlogit| = {diff:e}");
        // HF's loss: logits[:, :-1] against ids[:, 1:].
        let loss = model
            .loss(&ids.narrow(1, 0, 11), &ids.narrow(1, 1, 11), false)
            .double_value(&[]);
        assert!(
            (loss - want_loss).abs() < 1e-5,
            "{dir}: loss {loss} vs {want_loss}"
        );
    }
}

#[test]
fn bf16_compute_stays_close_to_f32() {
    let (ids, want, _) = expected();
    let (_vs, mut model) = load(&golden("tiny-gpt2"));
    model.set_compute_kind(Some(Kind::BFloat16));
    let logits = tch::no_grad(|| model.forward_t(&ids, false));
    assert_eq!(logits.kind(), Kind::Float);
    let diff = max_abs_diff(&logits, &want);
    let scale = want.abs().max().double_value(&[]);
    // bf16 has 8 mantissa bits: relative error ~4e-3 per product.
    assert!(
        diff > 0.0 && diff < 0.05 * scale,
        "bf16 Δ = {diff}, logits scale {scale}"
    );
}

#[test]
fn save_then_load_round_trips_single_and_sharded() {
    let (ids, want, _) = expected();
    let (vs, model) = load(&golden("tiny-gpt2"));
    let tmp = tempfile::tempdir().unwrap();
    for (sub, shard) in [("one", None), ("sharded", Some(30_000))] {
        let dir = tmp.path().join(sub);
        hf::save(&dir, model.config(), &vs, shard).unwrap();
        assert_eq!(dir.join(hf::INDEX).exists(), shard.is_some());
        let (_vs2, again) = load(&dir);
        let logits = tch::no_grad(|| again.forward_t(&ids, false));
        assert_eq!(
            max_abs_diff(&logits, &want),
            max_abs_diff(&tch::no_grad(|| model.forward_t(&ids, false)), &want)
        );
        // Same tensor names as transformers' own save_pretrained.
        let mut ours: Vec<String> = hf::read_tensors(&dir)
            .unwrap()
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        let mut theirs: Vec<String> = hf::read_tensors(&golden("tiny-gpt2"))
            .unwrap()
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        ours.sort();
        theirs.sort();
        assert_eq!(ours, theirs);
    }
    let index: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(tmp.path().join("sharded").join(hf::INDEX)).unwrap())
            .unwrap();
    assert_eq!(index["metadata"]["total_size"], 4 * model.config().num_params());
}

#[test]
fn bad_checkpoints_name_what_is_wrong() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // No weights at all.
    std::fs::copy(golden("tiny-gpt2/config.json"), dir.join("config.json")).unwrap();
    let cfg = hf::load_config(dir).unwrap();
    let mut vs = VarStore::new(Device::Cpu);
    let _m = Gpt2::new(&vs.root(), &cfg).unwrap();
    let err = hf::load_weights(dir, &mut vs, true).unwrap_err().to_string();
    assert!(err.contains("model.safetensors"), "{err}");
    // A tensor missing, then a wrong shape.
    let mut tensors = hf::read_tensors(&golden("tiny-gpt2")).unwrap();
    tensors.retain(|(n, _)| n != "transformer.h.1.ln_2.bias");
    hf::write_safetensors(&dir.join(hf::WEIGHTS), &tensors).unwrap();
    let err = hf::load_weights(dir, &mut vs, true).unwrap_err().to_string();
    assert!(err.contains("transformer.h.1.ln_2.bias"), "{err}");
    tensors.push((
        "transformer.h.1.ln_2.bias".into(),
        Tensor::zeros([31], (Kind::Float, Device::Cpu)),
    ));
    hf::write_safetensors(&dir.join(hf::WEIGHTS), &tensors).unwrap();
    let err = hf::load_weights(dir, &mut vs, true).unwrap_err().to_string();
    assert!(err.contains("[31]") && err.contains("[32]"), "{err}");
    // Garbage weights file.
    std::fs::write(dir.join(hf::WEIGHTS), b"not a safetensors file").unwrap();
    let err = hf::load_weights(dir, &mut vs, true).unwrap_err().to_string();
    assert!(err.contains("model.safetensors"), "{err}");
    // A config of another model type.
    std::fs::write(dir.join("config.json"), r#"{"model_type": "llama", "vocab_size": 1, "n_positions": 1, "n_embd": 2, "n_layer": 1, "n_head": 1}"#).unwrap();
    assert!(hf::load_config(dir).unwrap_err().to_string().contains("llama"));
}
