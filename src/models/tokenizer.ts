/**
 * Tokenizers from a model folder's `tokenizer.json` (+ `tokenizer_config.json`), run by
 * `@huggingface/tokenizers` (pure JS; ids identical to the Rust library). Special tokens (BOS, EOS,
 * PAD) come from the tokenizer config, as each family's tokenizer declares them.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { readJsonFile } from '../config/json-file.js';

interface SpecialTokens {
  readonly bos_token?: unknown;
  readonly eos_token?: unknown;
  readonly pad_token?: unknown;
}

export class TokenizerFileError extends Error {
  override readonly name = 'TokenizerFileError';
}

export class TextTokenizer {
  readonly bosId: number | undefined;
  readonly eosId: number | undefined;
  readonly padId: number | undefined;

  private constructor(
    private readonly inner: Tokenizer,
    config: SpecialTokens,
  ) {
    this.bosId = this.idOf(config.bos_token);
    this.eosId = this.idOf(config.eos_token);
    this.padId = this.idOf(config.pad_token);
  }

  /** Loads `tokenizer.json` and, when present, `tokenizer_config.json` from a model folder. */
  static load(folder: string): TextTokenizer {
    const file = join(folder, 'tokenizer.json');
    if (!existsSync(file)) throw new TokenizerFileError(`no tokenizer.json in ${folder}`);
    const configFile = join(folder, 'tokenizer_config.json');
    const config = (existsSync(configFile) ? readJsonFile(configFile) : {}) as SpecialTokens;
    try {
      return new TextTokenizer(new Tokenizer(readJsonFile(file, 'tokenizer') as object, config), config);
    } catch (cause) {
      throw new TokenizerFileError(`${file}: cannot build the tokenizer: ${(cause as Error).message}`, {
        cause,
      });
    }
  }

  /** Token ids of `text`; with special tokens, the tokenizer's template adds BOS/EOS as its family does. */
  encode(text: string, addSpecialTokens = true): number[] {
    return this.inner.encode(text, { add_special_tokens: addSpecialTokens }).ids;
  }

  decode(ids: readonly number[], skipSpecialTokens = true): string {
    // The library refuses an empty list; an empty generation decodes to the empty string.
    if (ids.length === 0) return '';
    return this.inner.decode([...ids], { skip_special_tokens: skipSpecialTokens });
  }

  private idOf(token: unknown): number | undefined {
    // tokenizer_config.json spells a special token as a string or as {"content": "..."}.
    const content = typeof token === 'string' ? token : (token as { content?: unknown } | null)?.content;
    return typeof content === 'string' ? this.inner.token_to_id(content) : undefined;
  }
}
