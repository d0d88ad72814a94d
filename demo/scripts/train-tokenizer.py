"""Trains the demo model's byte-level BPE tokenizer (Hugging Face `tokenizers`, offline) on the
pretraining corpus written by build-data.ts (which excludes the validation and test packages).

    python demo/scripts/train-tokenizer.py   # needs `pip install tokenizers` (../shared/tools/oracle-venv.sh has it)

Writes demo/model/tokenizer.json and tokenizer_config.json: vocabulary 4096, `</s>` as BOS, EOS
and padding (id 2, as OPT), `<pad>` 1, `<unk>` 3 — the special-token layout of OPT checkpoints.
"""
import json
import os

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

ROOT = os.path.join(os.path.dirname(__file__), "..")
SPECIALS = ["<s>", "<pad>", "</s>", "<unk>"]

tok = Tokenizer(models.BPE())
tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
tok.decoder = decoders.ByteLevel()
trainer = trainers.BpeTrainer(
    vocab_size=4096,
    min_frequency=2,
    special_tokens=SPECIALS,
    initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    show_progress=False,
)
tok.train([os.path.join(ROOT, ".work", "corpus.txt")], trainer)
# OPT prepends </s> to every sequence (its BOS is </s>).
tok.post_processor = processors.TemplateProcessing(single="</s> $A", special_tokens=[("</s>", 2)])
tok.save(os.path.join(ROOT, "model", "tokenizer.json"))
config = {
    "tokenizer_class": "PreTrainedTokenizerFast",
    "bos_token": "</s>",
    "eos_token": "</s>",
    "pad_token": "<pad>",
    "unk_token": "<unk>",
    "add_prefix_space": False,
    "model_max_length": 256,
}
with open(os.path.join(ROOT, "model", "tokenizer_config.json"), "w") as f:
    json.dump(config, f, indent=2)
    f.write("\n")
print("vocabulary", tok.get_vocab_size())

# The corpus as token ids for pretraining (uint16, documents separated by </s>).
import array

ids = array.array("H")
with open(os.path.join(ROOT, ".work", "corpus.txt")) as f:
    docs = f.read().split("\n\n")
for enc in tok.encode_batch(docs):
    ids.extend(enc.ids)  # starts with </s>: the separator
with open(os.path.join(ROOT, ".work", "tokens.u16"), "wb") as f:
    ids.tofile(f)
print("corpus tokens", len(ids))
