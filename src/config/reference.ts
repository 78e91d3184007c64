import { Kind, type TSchema } from '@sinclair/typebox';
import { defaultAt, describeConstraint, serveOptions } from './options.ts';
import { ConfigSchema } from './schema.ts';

/** One configuration key as documented: its path, default, what it accepts and what it does. */
export interface ConfigKeyDoc {
  readonly path: string;
  readonly defaultValue: unknown;
  readonly accepts: string;
  readonly description: string;
}

/** Every leaf key of the schema, in schema order. */
export function configKeys(schema: TSchema = ConfigSchema, prefix = ''): ConfigKeyDoc[] {
  return Object.entries(schema.properties as Record<string, TSchema>).flatMap(([key, node]) => {
    const path = prefix ? `${prefix}.${key}` : key;
    if (node[Kind] === 'Object') return configKeys(node, path);
    return [
      {
        path,
        defaultValue: defaultAt(path),
        accepts: describeConstraint(node),
        description: String(node.description ?? ''),
      },
    ];
  });
}

/** docs/configuration.md, generated from the schema (`npm run docs:config`; a test keeps it current). */
export function configurationReference(): string {
  const flagOf = new Map(serveOptions.map((o) => [o.path, o]));
  const rows = configKeys().map((k) => {
    const o = flagOf.get(k.path);
    const via = o ? `\`${o.flag}\`${o.env ? `, \`${o.env}\`` : ''}` : '';
    const value = k.defaultValue === undefined ? '(none)' : `\`${JSON.stringify(k.defaultValue)}\``;
    return `| \`${k.path}\` | ${value} | ${k.accepts} | ${via} | ${k.description.replaceAll('|', '\\|')} |`;
  });
  return [
    '# dashrelay configuration',
    '',
    'Every setting of `dashrelay serve`, with its default. Generated from the schema in',
    '`src/config/schema.ts` by `npm run docs:config`; a test fails when this page and the schema differ.',
    'Units are in the key names (`Ms` milliseconds, `S` seconds, `Bytes`, `Px` pixels).',
    '',
    'Set them with the flag or environment variable shown (flags win), or in code with',
    '`createServer({ config: { origin: { holdStartMs: 3000 } } })`: keys left out keep their default. A bad',
    'value is refused at start-up with `DR_ERR_CONFIG_INVALID` naming the key.',
    '',
    '| key | default | accepts | flag, environment | what |',
    '|---|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}
