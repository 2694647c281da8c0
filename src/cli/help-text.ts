/** What `attention-lens --help` and `attention-lens maps --help` print. */

export const MAIN_HELP = `attention-lens: the Attention Lens models and attention maps, for scripts

Usage:
  attention-lens maps --model <folder | bundled id> (--text <file> | --ids 1,2,3) [--logits]
                      [--backend wasm|cpu] [--max-tokens N] --out maps.json
  attention-lens maps --help      every flag of maps, and the JSON it writes
  attention-lens --help           this text

Commands:
  maps    run a decoder model once over a text or token ids and write every layer's
          attention maps (one per query head) as JSON

Exit codes: 0 success, 1 a model, file or run that failed, 2 a wrong command line.
`;

export const MAPS_HELP = `attention-lens maps: every attention map of one forward pass, as JSON

Usage:
  attention-lens maps --model <folder | bundled id> (--text <file> | --ids 1,2,3) [--logits]
                      [--backend wasm|cpu] [--max-tokens N] --out maps.json

Flags:
  --model <folder | id>  a Hugging Face model folder: config.json, model.safetensors (or
                         model.safetensors.index.json and its shards), tokenizer.json, optional
                         tokenizer_config.json; families llama, mistral, qwen2, qwen3, gpt2. Or a
                         repository of the Hugging Face cache ("HuggingFaceTB/SmolLM2-135M"; the
                         cache is HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub).
                         Or the id of a bundled model: attention-lens-mha, attention-lens-gqa,
                         attention-lens-mqa. Only safetensors are read (never pytorch_model.bin,
                         .gguf or .onnx).
  --text <file>          a UTF-8 text file, tokenized as the model reads it (BOS in front when
                         the model's files say so). Needs tokenizer.json.
  --ids 1,2,3            token ids, run exactly as given (nothing added). Instead of --text.
  --logits               also write lastLogits: the logits after the last token.
  --backend wasm|cpu     wasm (default): onnxruntime-web in Node, as the extension runs it;
                         cpu: onnxruntime-node's native CPU provider (faster). Same graph.
  --max-tokens N         keep only the first N tokens (BOS counts). Without it, an input longer
                         than the model's context (max_position_embeddings) is refused.
  --out <file>           where to write the JSON (required).
  -h, --help             this text.

Output (JSON; docs/maps-schema.md has the details and an example):
  schemaVersion   1
  model           {id, folder, family, numLayers, numHeads, numKeyValueHeads, headDim,
                   keyValueHeadOfQueryHead: per query head h, floor(h / (numHeads /
                   numKeyValueHeads)), vocabSize, contextLength, slidingWindows}
  backend         "wasm" or "cpu": what ran
  input           {kind: "text", file} or {kind: "ids"}
  text            what token offsets index into: the file's content (--text), the token
                  texts joined (--ids), or null (--ids, no tokenizer.json)
  tokens          [{id, text, start, end, special}]; [start, end) are UTF-16 offsets into text
  truncated       {totalTokens, keptTokens} when --max-tokens cut the input, else null
  mapPrecision    "float32" (the panel's JSON export may say "float16" or "uint8")
  lastLogits      [V] floats, with --logits
  attentions      [layer][head][query][key]: post-softmax weights, one map per QUERY head;
                  each row sums to 1; masked cells (future keys, outside a sliding window)
                  are exactly 0

Examples:
  attention-lens maps --model attention-lens-gqa --text example.py --out maps.json
  attention-lens maps --model ~/models/Qwen2.5-0.5B --ids 151643,40,1079 --logits --backend cpu --out maps.json
`;
