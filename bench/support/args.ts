/** `--name value` and `--flag` pairs over defaults; an unknown name is an error, so typos do not pass silently. */
export function parseArgs<T extends Record<string, string | number | boolean>>(argv: string[], defaults: T): Record<keyof T, string | number | boolean> {
  const values: Record<string, string | number | boolean> = { ...defaults };
  for (let i = 0; i < argv.length; i++) {
    const name = /^--([\w-]+)$/.exec(argv[i])?.[1];
    if (!name || !(name in defaults)) throw new Error(`unknown argument ${argv[i]}; known: ${Object.keys(defaults).map((k) => `--${k}`).join(' ')}`);
    if (typeof defaults[name] === 'boolean') {
      values[name] = true;
    } else {
      const value = argv[++i];
      if (value === undefined) throw new Error(`--${name} needs a value`);
      values[name] = typeof defaults[name] === 'number' ? Number(value) : value;
      if (typeof defaults[name] === 'number' && !Number.isFinite(values[name])) throw new Error(`--${name} must be a number`);
    }
  }
  return values as Record<keyof T, string | number | boolean>;
}
