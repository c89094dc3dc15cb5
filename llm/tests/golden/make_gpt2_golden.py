"""Golden values for llm's GPT-2: a tiny randomly initialised Hugging Face GPT2LMHeadModel.

Run once (the outputs are checked in next to this script):

    $PISA_PYTHON -m pip install transformers==4.57.1
    $PISA_PYTHON llm/tests/golden/make_gpt2_golden.py

Writes, beside this file:
  tiny-gpt2/               config.json + model.safetensors (save_pretrained, one file)
  tiny-gpt2-sharded/       the same weights in shards + model.safetensors.index.json
  tiny-gpt2-expected.safetensors
      input_ids [2, 12] int64, logits [2, 12, vocab] float32 (eval mode, no dropout),
      loss [] float32 (labels = input_ids, HF's shifted cross-entropy)

Versions used: torch 2.11.0, transformers 4.57.1 (printed below).
"""
import os

import torch
import transformers
from safetensors.torch import save_file
from transformers import GPT2Config, GPT2LMHeadModel

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    torch.manual_seed(1234)
    config = GPT2Config(
        vocab_size=101,
        n_positions=16,
        n_embd=32,
        n_layer=2,
        n_head=4,
        resid_pdrop=0.1,
        embd_pdrop=0.1,
        attn_pdrop=0.1,
    )
    model = GPT2LMHeadModel(config).eval()
    # Non-trivial LayerNorm parameters and biases (HF initialises them to 1 / 0), so the test
    # also checks that every one of them is read into the right place.
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith(".bias") or ".ln_" in name:
                p.add_(0.05 * torch.randn_like(p))
    model.save_pretrained(os.path.join(HERE, "tiny-gpt2"), safe_serialization=True)
    model.save_pretrained(
        os.path.join(HERE, "tiny-gpt2-sharded"), safe_serialization=True, max_shard_size="40KB"
    )
    ids = torch.tensor(
        [[(7 * t * t + 3 * t + 11 * b) % config.vocab_size for t in range(12)] for b in range(2)],
        dtype=torch.int64,
    )
    with torch.no_grad():
        out = model(ids, labels=ids)
    save_file(
        {
            "input_ids": ids.contiguous(),
            "logits": out.logits.float().contiguous(),
            "loss": out.loss.float().reshape(()).contiguous(),
        },
        os.path.join(HERE, "tiny-gpt2-expected.safetensors"),
        metadata={"torch": torch.__version__, "transformers": transformers.__version__},
    )
    print("torch", torch.__version__, "transformers", transformers.__version__, "loss", out.loss.item())


if __name__ == "__main__":
    main()
