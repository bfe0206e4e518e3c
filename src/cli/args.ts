/**
 * A small, strict argument parser for the `inqueue` CLI: positionals, `--flag`, `--name value` and
 * `--name=value`. Unknown options are usage errors (exit code 2), never ignored.
 */

export class UsageError extends Error {}

export interface OptionSpec {
  /** 'flag' takes no value; 'string' and 'number' take one. */
  type: 'flag' | 'string' | 'number';
  default?: string | number | boolean;
}

export interface Parsed {
  positionals: string[];
  options: Record<string, string | number | boolean | undefined>;
}

export function parseArgs(argv: readonly string[], spec: Record<string, OptionSpec>): Parsed {
  const positionals: string[] = [];
  const options: Parsed['options'] = {};
  for (const [name, s] of Object.entries(spec))
    options[name] = s.default ?? (s.type === 'flag' ? false : undefined);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--') || arg === '--') {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const s = spec[name];
    if (!s) throw new UsageError(`unknown option --${name}`);
    if (s.type === 'flag') {
      if (eq >= 0) throw new UsageError(`--${name} takes no value`);
      options[name] = true;
      continue;
    }
    const raw = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
    if (raw === undefined || (eq < 0 && raw.startsWith('--')))
      throw new UsageError(`--${name} needs a value`);
    if (s.type === 'number') {
      const n = Number(raw);
      if (!Number.isFinite(n)) throw new UsageError(`--${name} expects a number, got ${JSON.stringify(raw)}`);
      options[name] = n;
    } else options[name] = raw;
  }
  return { positionals, options };
}
