// The shape of a command-line flag, declared where the flags are (each command in cli/,
// the server's tensorflow_model_server-compatible flags in server/config.ts) and parsed by
// cli/args.ts. A type only, here so that server/ need not import cli/.
export interface FlagSpec {
  /** Canonical name in snake_case, e.g. `rest_api_port`. */
  name: string;
  /** `duration`: a duration string ("5s", "250ms", "1m"), parsed to milliseconds. */
  type: 'string' | 'number' | 'boolean' | 'duration';
  help: string;
  /** For a duration flag, the duration string ("5s"); the parsed value is milliseconds. */
  default?: string | number | boolean;
  /** A one-letter form, e.g. `o` for `-o FILE`. */
  short?: string;
  /**
   * Older spellings still accepted. With `unit`, the alias takes a bare number in that
   * unit (`--tick_ms 200` for `--tick 200ms`) and is left out of the help: the help shows
   * one spelling per idea.
   */
  aliases?: readonly (string | { name: string; unit: 'ms' | 's' })[];
  /** For a duration flag: 0 is a meaningful value (e.g. "stop without waiting"). Otherwise 0 is refused. */
  allowZero?: boolean;
}
