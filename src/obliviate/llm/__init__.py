"""LLM unlearning: forgetting facts from Hugging Face causal language models.

Every method works through the ``AutoModelForCausalLM`` interface only (``model(input_ids,
attention_mask=...)`` returning ``.logits``), so a user's own local model folder drops in
unchanged. The built-in setting trains a small ``GPT2LMHeadModel`` (built from a
``GPT2Config``) on a generated TOFU-like corpus of fictitious entities with a tokenizer
trained on that corpus; nothing is downloaded (:mod:`obliviate.llm.corpus`,
:mod:`obliviate.llm.models`). The real TOFU files load with :func:`obliviate.llm.corpus.load_tofu`.

Needs the ``llm`` extra: ``pip install 'obliviate[llm]'`` (transformers, tokenizers).
"""

from __future__ import annotations
