"""PyTorch reference for bench/train-step.ts: the same OPT-shaped model (4 layers, d 256, FFN 1024,
vocab 8192, batch 4 x 128), one forward and one forward + backward step of full fine-tuning on the
CPU, median of 5 runs after a warm-up. Needs torch and transformers (not part of npm test):

    bash ../shared/tools/oracle-venv.sh /tmp/oracle && /tmp/oracle/bin/python bench/train-step-torch.py [--json]
"""
import json
import statistics
import sys
import time

import torch
from transformers import OPTConfig, OPTForCausalLM

SHAPE = dict(layers=4, hidden=256, ffn=1024, heads=4, vocab=8192, seq=128, batch=4)


def median_ms(f, repeats=5):
    f()
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        f()
        samples.append((time.perf_counter() - t0) * 1000)
    return statistics.median(samples)


def main():
    torch.manual_seed(1)
    config = OPTConfig(vocab_size=SHAPE["vocab"], hidden_size=SHAPE["hidden"], ffn_dim=SHAPE["ffn"],
                       num_hidden_layers=SHAPE["layers"], num_attention_heads=SHAPE["heads"],
                       max_position_embeddings=512, word_embed_proj_dim=SHAPE["hidden"], dropout=0.0,
                       attention_dropout=0.0, activation_dropout=0.0)
    model = OPTForCausalLM(config).float()
    ids = torch.tensor([[(r * 131 + t * 17) % SHAPE["vocab"] for t in range(SHAPE["seq"])] for r in range(SHAPE["batch"])])

    def forward():
        with torch.no_grad():
            model(input_ids=ids, labels=ids).loss.item()

    def step():
        model.zero_grad(set_to_none=True)
        model(input_ids=ids, labels=ids).loss.backward()

    result = {"backend": "pytorch-cpu", "threads": torch.get_num_threads(), "torch": torch.__version__,
              "forward_ms": median_ms(forward), "step_ms": median_ms(step)}
    if "--json" in sys.argv:
        print(json.dumps(result, indent=2))
    else:
        print(f"PyTorch {result['torch']} CPU, {result['threads']} threads: forward {result['forward_ms']:.1f} ms, "
              f"forward + backward {result['step_ms']:.1f} ms")


if __name__ == "__main__":
    main()
